/**
 * Multi-process helpers of the cluster scenarios (f–l): a throwaway
 * PostgreSQL database per scenario, host processes (`_child.ts`) and worker
 * processes (`_worker.ts`) spawned, driven over stdin/stdout JSON lines,
 * killed and always reaped, and runtime processes (`runtime/main.ts serve`,
 * the real CLI) with their CPU and RSS read from `/proc`.
 *
 * @module
 */

import { createTestDatabase } from "../testing/_postgres.ts";
import { TextLineStream } from "../tests/_lines.ts";
import type { BenchActorType, BenchChildConfig } from "./_child.ts";
import type { BenchWorkerConfig } from "./_worker.ts";

const CHILD = new URL("./_child.ts", import.meta.url).pathname;
/** The worker-process script of (j)–(l). */
export const WORKER_SCRIPT: string = new URL("./_worker.ts", import.meta.url).pathname;
const RUNTIME_MAIN = new URL("../runtime/main.ts", import.meta.url).pathname;
/** Extra `deno run` flags for the runtime processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`. */
const RUNTIME_FLAGS = (Deno.env.get("FRANCIS_BENCH_RUNTIME_FLAGS") ?? "").split(" ").filter((s) => s !== "");
/** Extra `deno run` flags for the host processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (profiling). */
const CHILD_FLAGS = (Deno.env.get("FRANCIS_BENCH_CHILD_FLAGS") ?? "").split(" ").filter((s) => s !== "");
const QUIET = { debug() {}, info() {}, warn() {}, error: console.error };

/** A logger for the parent's own host: errors only. */
export const QUIET_LOGGER: typeof QUIET = QUIET;

/**
 * Runs `fn` with the URL of a fresh PostgreSQL database, dropped afterwards
 * whatever happens. Throws a clear error when no server answers.
 */
export async function withDatabase<T>(scenario: string, fn: (url: string) => Promise<T>): Promise<T> {
  let db;
  try {
    db = await createTestDatabase();
  } catch (err) {
    throw new Error(
      `Scenario ${scenario} needs PostgreSQL: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    return await fn(db.url);
  } finally {
    await db.drop().catch((err) => console.error(`[bench] ${scenario}: cannot drop test database: ${err}`));
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One host process (`_child.ts`), or one worker process (`_worker.ts`, several `RemoteHost`s). */
export class BenchChild {
  /** Label given at spawn (what the `where` actor answers). */
  readonly label: string;
  /** The host ID, once ready (a worker process: the first of {@linkcode BenchChild.hostIds}). */
  hostId = "";
  /** Every host ID of the process, once ready (one for `_child.ts`). */
  hostIds: string[] = [];
  /** The raw TLS echo port, once ready (0 when none). */
  rawEchoPort = 0;
  /** Resolves once the host printed `ready`. */
  readonly ready: Promise<void>;
  /** Resolves when the process exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** The last 20,000 characters of stderr. */
  stderr = "";
  /** OS process ID. */
  readonly pid: number;
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;

  /** Spawns the process; await {@linkcode BenchChild.ready}. `script` defaults to `_child.ts`. */
  constructor(config: BenchChildConfig | BenchWorkerConfig, script: string = CHILD) {
    this.label = config.label;
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...CHILD_FLAGS, script],
      env: { FRANCIS_BENCH_CHILD: JSON.stringify(config), NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.#proc.pid;
    this.#writer = this.#proc.stdin.getWriter();
    this.exited = this.#proc.status;
    let readyResolve!: () => void, readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => [readyResolve, readyReject] = [res, rej]);
    this.ready.catch(() => {});
    this.#proc.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
      new WritableStream({ write: (c) => void (this.stderr = (this.stderr + c).slice(-20_000)) }),
    ).catch(() => {});
    const lines = this.#proc.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
    (async () => {
      for await (const line of lines) {
        if (line.startsWith("ready ")) {
          const [, hostIds, , port] = line.split(" ");
          this.hostIds = hostIds.split(",");
          this.hostId = this.hostIds[0];
          this.rawEchoPort = Number(port);
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
      readyReject(new Error(`bench host ${this.label} exited before it was ready:\n${this.stderr.slice(-3_000)}`));
      for (const p of this.#pending.values()) p.reject(new Error(`bench host ${this.label} exited`));
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

  /** Sends a signal (SIGKILL: the crash); ignored when already gone. */
  kill(signal: Deno.Signal): void {
    try {
      this.#proc.kill(signal);
    } catch { /* already gone */ }
  }

  /** Stops the process (SIGTERM, SIGKILL after `graceMs`) and reaps it. */
  async dispose(graceMs = 3_000): Promise<void> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.exited, new Promise((r) => timer = setTimeout(r, graceMs))]);
    clearTimeout(timer);
    this.kill("SIGKILL");
    await this.exited;
    await this.#writer.close().catch(() => {});
  }
}

/** Every host process a scenario started, so that all of them are reaped in one place. */
export class ChildSet {
  readonly #all: BenchChild[] = [];
  readonly #base: Omit<BenchChildConfig, "port" | "label" | "types">;

  /** @param base Settings shared by every child (database URL, PSK). */
  constructor(base: Omit<BenchChildConfig, "port" | "label" | "types">) {
    this.#base = base;
  }

  /** Spawns hosts and waits until all are ready. */
  async start(
    labels: readonly string[],
    types: BenchActorType[],
    extra?: Partial<BenchChildConfig>,
  ): Promise<BenchChild[]> {
    const children = labels.map((label) => new BenchChild({ ...this.#base, ...extra, port: freePort(), label, types }));
    this.#all.push(...children);
    await Promise.all(children.map((c) => c.ready));
    return children;
  }

  /** Spawns worker processes (`_worker.ts`) and waits until all are ready. */
  async startWorkers(configs: BenchWorkerConfig[]): Promise<BenchChild[]> {
    const children = configs.map((c) => new BenchChild(c, WORKER_SCRIPT));
    this.#all.push(...children);
    await Promise.all(children.map((c) => c.ready));
    return children;
  }

  /** Stops and reaps every child ever started (killed ones included). */
  async disposeAll(): Promise<void> {
    await Promise.all(this.#all.map((c) => c.dispose()));
  }
}

/** What a runtime process is started with (written to a YAML file for `serve --config`). */
export interface BenchRuntimeConfig {
  /** Directory for the config file. */
  dir: string;
  /** Runtime PSK (the cluster CA is derived from it). */
  psk: string;
  /** Host bootstrap PSK. */
  hostPsk: string;
  /** PostgreSQL URL. */
  url: string;
  /** Worker port; a free one when absent. */
  port?: number;
}

/**
 * One runtime process: the real CLI, `deno run -A runtime/main.ts serve
 * --config <file>`, on PostgreSQL, default settings except `log.level: warn`.
 * Modelled on `tests/_remote/runtime_proc.ts`, plus the process ID (for
 * `/proc`) and a graceful stop (for `--cpu-prof`).
 */
export class BenchRuntime {
  /** Worker port. */
  readonly port: number;
  /** `/readyz` port. */
  readonly healthPort: number;
  /** OS process ID. */
  readonly pid: number;
  /** Resolves when the process exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** The last 20,000 characters of stdout + stderr. */
  output = "";
  readonly #proc: Deno.ChildProcess;

  private constructor(configPath: string, port: number, healthPort: number) {
    this.port = port;
    this.healthPort = healthPort;
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...RUNTIME_FLAGS, RUNTIME_MAIN, "serve", "--config", configPath],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.pid = this.#proc.pid;
    const collect = (s: ReadableStream<Uint8Array>) =>
      s.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (c) => void (this.output = (this.output + c).slice(-20_000)) }),
      ).catch(() => {});
    collect(this.#proc.stdout);
    collect(this.#proc.stderr);
    this.exited = this.#proc.status;
  }

  /** Writes the config file and spawns the process; await {@linkcode BenchRuntime.ready}. */
  static async start(c: BenchRuntimeConfig): Promise<BenchRuntime> {
    const port = c.port ?? freePort();
    const healthPort = freePort();
    const configPath = `${c.dir}/runtime-${port}-${healthPort}.yaml`;
    await Deno.writeTextFile(
      configPath,
      [
        `bind: 127.0.0.1:${port}`,
        `healthBind: 127.0.0.1:${healthPort}`,
        `runtimePsks: [${JSON.stringify(c.psk)}]`,
        `bootstrap: { method: psk, hostPsk: ${JSON.stringify(c.hostPsk)} }`,
        `provider: { connectionString: ${JSON.stringify(c.url)} }`,
        `log: { level: warn }`,
      ].join("\n") + "\n",
    );
    return new BenchRuntime(configPath, port, healthPort);
  }

  /** `127.0.0.1:<port>`, what workers dial. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once `/readyz` answers 200 (polled every `intervalMs`). */
  async ready(timeoutMs = 30_000, intervalMs = 10): Promise<void> {
    let exited = false;
    this.exited.then(() => exited = true);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) throw new Error(`runtime exited before it was ready:\n${this.output.slice(-3_000)}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`);
        await res.body?.cancel();
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() >= deadline) throw new Error(`runtime not ready after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Sends a signal (SIGKILL: the crash); ignored when already gone. */
  kill(signal: Deno.Signal): void {
    try {
      this.#proc.kill(signal);
    } catch { /* already gone */ }
  }

  /** Stops the process (SIGTERM, SIGKILL after `graceMs`) and reaps it. */
  async dispose(graceMs = 3_000): Promise<void> {
    this.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.exited, new Promise((r) => timer = setTimeout(r, graceMs))]);
    clearTimeout(timer);
    this.kill("SIGKILL");
    await this.exited;
  }
}

let clockTicks: number | undefined;

/** `getconf CLK_TCK` (the unit of `/proc/<pid>/stat` times), 100 when it cannot be read. */
export async function clockTicksPerSecond(): Promise<number> {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped", stderr: "null" }).output();
    const n = Number(new TextDecoder().decode(out.stdout).trim());
    clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/** CPU time (utime + stime, in seconds) and RSS (bytes) of a process, from `/proc/<pid>/stat` and `status`. */
export async function procUsage(pid: number): Promise<{ cpuSeconds: number; rssBytes: number }> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // The fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime: fields 14 and 15 of stat(5)
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  return { cpuSeconds: ticks / await clockTicksPerSecond(), rssBytes: rssKb * 1024 };
}
