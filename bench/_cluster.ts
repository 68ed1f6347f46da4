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
import { freePort, LineProcess } from "../tests/_shared/processes.ts";
import { RuntimeProcess } from "../tests/_shared/runtime_process.ts";
import type { BenchActorType, BenchChildConfig } from "./_child.ts";
import type { BenchWorkerConfig } from "./_worker.ts";

const CHILD = new URL("./_child.ts", import.meta.url).pathname;
/** The worker-process script of (j)–(l). */
export const WORKER_SCRIPT: string = new URL("./_worker.ts", import.meta.url).pathname;
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

/**
 * One host process (`_child.ts`), or one worker process (`_worker.ts`,
 * several `RemoteHost`s); `dispose()` stops it with SIGTERM, SIGKILL after 3 s.
 */
export class BenchChild extends LineProcess {
  /** Spawns the process; await {@linkcode BenchChild.ready}. `script` defaults to `_child.ts`. */
  constructor(config: BenchChildConfig | BenchWorkerConfig, script: string = CHILD) {
    super({
      label: config.label,
      args: [...CHILD_FLAGS, script],
      env: { FRANCIS_BENCH_CHILD: JSON.stringify(config) },
      stopGraceMs: 3_000,
    });
  }

  /** The raw TLS echo port, once ready (0 when none): the last word of `ready <hostIds> <addresses> <port>`. */
  get rawEchoPort(): number {
    return Number(this.readyFields[2] ?? 0);
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
    return await this.#started(
      labels.map((label) => new BenchChild({ ...this.#base, ...extra, port: freePort(), label, types })),
    );
  }

  /** Spawns worker processes (`_worker.ts`) and waits until all are ready. */
  async startWorkers(configs: BenchWorkerConfig[]): Promise<BenchChild[]> {
    return await this.#started(configs.map((c) => new BenchChild(c, WORKER_SCRIPT)));
  }

  /** Keeps `children` for {@linkcode ChildSet.disposeAll} and waits until all are ready. */
  async #started(children: BenchChild[]): Promise<BenchChild[]> {
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
 * --config <file>`, on PostgreSQL, default settings except `log.level: warn`
 * (`tests/_shared/runtime_process.ts`), with `FRANCIS_BENCH_RUNTIME_FLAGS`;
 * `dispose()` stops it with SIGTERM (for `--cpu-prof`), SIGKILL after 3 s.
 */
export type BenchRuntime = RuntimeProcess;

/** Starts runtime processes; await `ready()`. */
export const BenchRuntime = {
  /** Writes the config file and spawns the process. */
  start(c: BenchRuntimeConfig): Promise<BenchRuntime> {
    const { url, ...rest } = c;
    return RuntimeProcess.start({ ...rest, connectionString: url, denoFlags: RUNTIME_FLAGS, stopGraceMs: 3_000 });
  },
};

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
