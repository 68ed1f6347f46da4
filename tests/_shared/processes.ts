/**
 * Parent side of the multi-process tests and benchmarks: free ports, child
 * processes that print `ready …` and then answer JSON requests one per line
 * (the child side is `child_loop.ts`), their output kept, killed and always
 * reaped.
 *
 * @module
 */

import { TextLineStream } from "./lines.ts";

/** How much of a child's output is kept (the last characters). */
const OUTPUT_TAIL = 20_000;

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Spawns `deno run -A <args>` with `env` (and `NO_COLOR`), stdout and stderr piped. */
export function spawnDeno(args: string[], env: Record<string, string>, stdin: "piped" | "null"): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    env: { ...env, NO_COLOR: "1" },
    stdin,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The lines of a byte stream. */
export function linesOf(stream: ReadableStream<Uint8Array>): ReadableStream<string> {
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
}

/** Passes every decoded chunk of `stream` to `append` until it ends. */
export function collectText(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
  return stream.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: (c) => append(c) })).catch(
    () => {},
  );
}

/** Sends a signal; ignored when the process is already gone. */
export function signalProcess(proc: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    proc.kill(signal);
  } catch { /* already gone */ }
}

/** Stops a process (SIGTERM first and SIGKILL after `graceMs` when `graceMs` > 0, else SIGKILL at once) and reaps it. */
export async function stopProcess(proc: Deno.ChildProcess, graceMs: number): Promise<void> {
  if (graceMs > 0) {
    signalProcess(proc, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([proc.status, new Promise((r) => timer = setTimeout(r, graceMs))]);
    clearTimeout(timer);
  }
  signalProcess(proc, "SIGKILL");
  await proc.status;
}

/** How a {@linkcode LineProcess} is started. */
export interface LineProcessOptions {
  /** Its name in messages (and what the child calls itself). */
  label: string;
  /** What follows `deno run -A`: flags, the script, its arguments. */
  args: string[];
  /** Environment variables added to the parent's. */
  env: Record<string, string>;
  /** `dispose()` sends SIGTERM and waits this long before SIGKILL; 0: SIGKILL at once. @default {0} */
  stopGraceMs?: number;
}

/**
 * One child process that prints `ready <hostId,…> <address,…> …` once
 * started, or `failed <error name> <code>` when it cannot start, then answers
 * each JSON request written to its stdin with one JSON line
 * (`{"id":…,"ok":…}` or `{"id":…,"error":{message,code}}`). Other stdout
 * lines and all of stderr are kept in {@linkcode LineProcess.output}.
 */
export class LineProcess {
  /** The label it was started with. */
  readonly label: string;
  /** The first host ID of the ready line, once ready. */
  hostId = "";
  /** Every host ID of the ready line, once ready. */
  hostIds: string[] = [];
  /** The words of the ready line after `ready`, once ready. */
  readyFields: string[] = [];
  /** What it printed after `failed ` when it could not start. */
  failure = "";
  /** The last 20,000 characters of stderr and of stdout lines that are neither `ready`, `failed` nor replies. */
  output = "";
  /** Resolves once it printed `ready`; rejects if it exits first. */
  readonly ready: Promise<void>;
  /** Resolves when the process exited and everything it printed was read (`failure`, `output` are final). */
  readonly exited: Promise<Deno.CommandStatus>;
  /** OS process ID. */
  readonly pid: number;
  readonly #proc: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  readonly #stopGraceMs: number;
  #nextId = 1;

  /** Spawns the process; await {@linkcode LineProcess.ready}. */
  constructor(o: LineProcessOptions) {
    this.label = o.label;
    this.#stopGraceMs = o.stopGraceMs ?? 0;
    const proc = this.#proc = spawnDeno(o.args, o.env, "piped");
    this.pid = proc.pid;
    this.#writer = proc.stdin.getWriter();
    const ready = Promise.withResolvers<void>();
    this.ready = ready.promise;
    this.ready.catch(() => {});
    const stderrRead = collectText(proc.stderr, (c) => this.#keep(c));
    const stdoutRead = (async () => {
      for await (const line of linesOf(proc.stdout)) {
        if (line.startsWith("ready ")) {
          this.readyFields = line.split(" ").slice(1);
          this.hostIds = this.readyFields[0].split(",");
          this.hostId = this.hostIds[0];
          ready.resolve();
        } else if (line.startsWith("failed ")) {
          this.failure = line.slice(7);
        } else if (line.startsWith("{")) {
          this.#answer(JSON.parse(line));
        } else {
          this.#keep(line + "\n");
        }
      }
    })().catch(() => {}).finally(() => {
      ready.reject(new Error(`${this.label} exited before it was ready:\n${this.output}`));
      for (const p of this.#pending.values()) p.reject(new Error(`${this.label} exited`));
      this.#pending.clear();
    });
    // The exit status can arrive before the last lines are read: a `failed …` line printed just before exiting
    // must be in `failure` by the time `exited` resolves.
    this.exited = Promise.all([proc.status, stdoutRead, stderrRead]).then(([status]) => status);
  }

  #keep(text: string): void {
    this.output = (this.output + text).slice(-OUTPUT_TAIL);
  }

  #answer(msg: { id: number; ok?: unknown; error?: { message: string; code?: string } }): void {
    const p = this.#pending.get(msg.id);
    this.#pending.delete(msg.id);
    if (msg.error) p?.reject(Object.assign(new Error(msg.error.message), { code: msg.error.code }));
    else p?.resolve(msg.ok);
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

  /** Sends a signal (SIGKILL: the crash, SIGTERM: the graceful stop); ignored when already gone. */
  kill(signal: Deno.Signal): void {
    signalProcess(this.#proc, signal);
  }

  /** Stops the process if still running (see `stopGraceMs`), reaps it and closes its stdin. */
  async dispose(): Promise<void> {
    await stopProcess(this.#proc, this.#stopGraceMs);
    await this.#writer.close().catch(() => {});
  }
}

/** Waits until every process is ready; if one is not, disposes all of them and rethrows. */
export async function allReady<P extends LineProcess>(procs: P[]): Promise<P[]> {
  try {
    await Promise.all(procs.map((p) => p.ready));
  } catch (err) {
    await Promise.all(procs.map((p) => p.dispose()));
    throw err;
  }
  return procs;
}
