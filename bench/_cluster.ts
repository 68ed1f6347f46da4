/**
 * Multi-process helpers of the cluster scenarios (f–i): a throwaway
 * PostgreSQL database per scenario, and host processes (`_child.ts`) spawned,
 * driven over stdin/stdout JSON lines, killed and always reaped.
 *
 * @module
 */

import { createTestDatabase } from "../testing/_postgres.ts";
import { TextLineStream } from "../tests/_lines.ts";
import type { BenchActorType, BenchChildConfig } from "./_child.ts";

const CHILD = new URL("./_child.ts", import.meta.url).pathname;
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

/** One host process (`_child.ts`). */
export class BenchChild {
  /** Label given at spawn (what the `where` actor answers). */
  readonly label: string;
  /** The host ID, once ready. */
  hostId = "";
  /** The raw TLS echo port, once ready (0 when none). */
  rawEchoPort = 0;
  /** Resolves once the host printed `ready`. */
  readonly ready: Promise<void>;
  /** Resolves when the process exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** The last 20,000 characters of stderr. */
  stderr = "";
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  #nextId = 1;

  /** Spawns the process; await {@linkcode BenchChild.ready}. */
  constructor(config: BenchChildConfig) {
    this.label = config.label;
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...CHILD_FLAGS, CHILD],
      env: { FRANCIS_BENCH_CHILD: JSON.stringify(config), NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
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
          const [, hostId, , port] = line.split(" ");
          this.hostId = hostId;
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

  /** Stops and reaps every child ever started (killed ones included). */
  async disposeAll(): Promise<void> {
    await Promise.all(this.#all.map((c) => c.dispose()));
  }
}
