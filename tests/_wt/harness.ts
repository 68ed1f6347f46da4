/**
 * Processes of the multi-process WebTransport test (`process_suite.ts`): a
 * runtime started by the real CLI (`runtime/main.ts serve --config`) and
 * RemoteHost workers (`worker.ts`), all with `--unstable-net`. Workers speak
 * the line protocol of `tests/_cluster/control.ts`; the runtime is ready
 * when its `/readyz` answers 200.
 */

import { TextLineStream } from "../_lines.ts";
import { freePort } from "../_cluster/harness.ts";
import { waitFor } from "../../testing/wait_for.ts";

const MAIN = new URL("../../runtime/main.ts", import.meta.url).pathname;
const WORKER = new URL("./worker.ts", import.meta.url).pathname;

/** One OS process with its output kept (last 20 kB) and JSON-line requests over stdin/stdout. */
export class WtProcess {
  readonly label: string;
  readonly port: number;
  hostId = "";
  output = "";
  /** What a worker that could not start printed (`failed <error name> <code>`). */
  failure = "";
  readonly ready: Promise<void>;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;

  constructor(label: string, port: number, args: string[], env: Record<string, string>) {
    this.label = label;
    this.port = port;
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--unstable-net", ...args],
      env: { ...env, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.exited = this.#proc.status;
    const ready = Promise.withResolvers<void>();
    this.ready = ready.promise;
    this.ready.catch(() => {});
    this.#proc.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (c) => void (this.output = (this.output + c).slice(-20_000)) }),
    ).catch(() => {});
    const lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
    (async () => {
      for await (const line of lines) {
        if (line.startsWith("ready ")) {
          this.hostId = line.split(" ")[1];
          ready.resolve();
          continue;
        }
        if (line.startsWith("failed ")) {
          this.failure = line.slice(7);
          continue;
        }
        if (!line.startsWith("{")) {
          this.output = (this.output + line + "\n").slice(-20_000);
          continue;
        }
        const msg = JSON.parse(line) as { id: number; ok?: unknown; error?: { message: string; code?: string } };
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
        else p?.resolve(msg.ok);
      }
    })().catch(() => {}).finally(() => {
      ready.reject(new Error(`${label} exited before it was ready:\n${this.output}`));
      for (const p of this.#pending.values()) p.reject(new Error(`${label} exited`));
      this.#pending.clear();
    });
  }

  /** Sends one request and waits for its answer. */
  request<T = unknown>(req: Record<string, unknown>): Promise<T> {
    const id = this.#nextId++;
    const answer = new Promise<T>((resolve, reject) =>
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
    );
    this.#writer.write(new TextEncoder().encode(JSON.stringify({ ...req, id }) + "\n")).catch(() => {});
    return answer;
  }

  kill(signal: Deno.Signal): void {
    try {
      this.#proc.kill(signal);
    } catch { /* already gone */ }
  }

  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
    await this.#writer.close().catch(() => {});
  }
}

/** What a worker is told (JSON in `FRANCIS_CHILD`). */
export interface WtWorkerConfig {
  url: string;
  runtimes: string[];
  hostPsk: string;
  caPem: string;
  hash: string;
  requestTimeoutMs?: number;
}

/** Starts a worker process; it is ready (admitted over WebTransport, serving) when `ready` resolves. */
export function startWtWorker(config: WtWorkerConfig, label: string): WtProcess {
  const port = freePort();
  return new WtProcess(label, port, [WORKER], { FRANCIS_CHILD: JSON.stringify({ ...config, port, label }) });
}

/** Writes a runtime config (`transport: webtransport`) and starts `runtime/main.ts serve` on it. */
export async function startWtRuntime(
  dir: string,
  c: { psk: string; hostPsk: string; connectionString: string; port?: number },
): Promise<WtProcess & { address: string; healthPort: number }> {
  const port = c.port ?? freePort();
  const healthPort = freePort();
  const configPath = `${dir}/runtime-${port}.yaml`;
  await Deno.writeTextFile(
    configPath,
    [
      `bind: 127.0.0.1:${port}`,
      `healthBind: 127.0.0.1:${healthPort}`,
      `runtimePsks: [${JSON.stringify(c.psk)}]`,
      `bootstrap: { method: psk, hostPsk: ${JSON.stringify(c.hostPsk)} }`,
      `provider: { connectionString: ${JSON.stringify(c.connectionString)} }`,
      `transport: webtransport`,
      `log: { level: warn }`,
    ].join("\n"),
  );
  const proc = new WtProcess(`runtime:${port}`, port, [MAIN, "serve", "--config", configPath], {});
  let exited = false;
  proc.exited.then(() => exited = true);
  await waitFor(async () => {
    if (exited) throw new Error(`runtime exited before it was ready:\n${proc.output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
      await res.body?.cancel();
      return res.status === 200;
    } catch {
      return false;
    }
  }, { what: "the runtime to be ready", timeoutMs: 30_000, intervalMs: 25 });
  return Object.assign(proc, { address: `127.0.0.1:${port}`, healthPort });
}
