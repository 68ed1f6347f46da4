/**
 * Spawns and drives the host processes of the cluster tests (see `child.ts`):
 * real OS processes on real ports, talking to a real PostgreSQL database,
 * stopped with SIGTERM or killed with SIGKILL.
 */

import { TextLineStream } from "../_lines.ts";

/** Settings shared by every child of one cluster. */
export interface ClusterSettings {
  url: string;
  psk: string;
  healthCheckDeadlineMs?: number;
  alarmsLeaseDurationMs?: number;
  alarmsPollIntervalMs?: number;
}

const CHILD = new URL("./child.ts", import.meta.url).pathname;

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One host process. */
export class ClusterChild {
  readonly label: string;
  readonly port: number;
  hostId = "";
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;
  readonly ready: Promise<void>;
  readonly exited: Promise<Deno.CommandStatus>;
  stderr = "";

  constructor(settings: object, label: string, port: number, script: string = CHILD) {
    this.label = label;
    this.port = port;
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script],
      env: { FRANCIS_CHILD: JSON.stringify({ ...settings, port, label }), NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.exited = this.#proc.status;
    let readyResolve!: () => void, readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => [readyResolve, readyReject] = [res, rej]);
    this.#proc.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (c) => void (this.stderr = (this.stderr + c).slice(-20_000)) }),
    ).catch(() => {});
    const lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
    (async () => {
      for await (const line of lines) {
        if (line.startsWith("ready ")) {
          this.hostId = line.split(" ")[1];
          readyResolve();
          continue;
        }
        const msg = JSON.parse(line) as { id: number; ok?: unknown; error?: { message: string; code?: string } };
        const p = this.#pending.get(msg.id);
        this.#pending.delete(msg.id);
        if (msg.error) p?.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
        else p?.resolve(msg.ok);
      }
    })().catch(() => {}).finally(() => {
      readyReject(new Error(`host ${label} exited before it was ready:\n${this.stderr}`));
      for (const p of this.#pending.values()) p.reject(new Error(`host ${label} exited`));
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

  /** Sends a signal; SIGKILL is the crash, SIGTERM the graceful stop. */
  kill(signal: Deno.Signal): void {
    try {
      this.#proc.kill(signal);
    } catch { /* already gone */ }
  }

  /** Kills (if still running) and reaps the process, closing its pipes. */
  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
    await this.#writer.close().catch(() => {});
  }
}

/** Starts `n` hosts and waits until every one is ready. */
export async function startChildren(
  settings: object,
  n: number,
  prefix = "h",
  script?: string,
): Promise<ClusterChild[]> {
  const children = Array.from({ length: n }, (_, i) => new ClusterChild(settings, `${prefix}${i}`, freePort(), script));
  try {
    await Promise.all(children.map((c) => c.ready));
  } catch (err) {
    await Promise.all(children.map((c) => c.dispose()));
    throw err;
  }
  return children;
}
