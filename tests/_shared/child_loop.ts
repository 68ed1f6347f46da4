/**
 * Child side of the multi-process tests and benchmarks (the parent side is
 * `processes.ts`): the config from the environment, lines on stdout, one
 * JSON request per stdin line answered with one JSON line, and a stop on
 * SIGTERM or at the end of stdin.
 *
 * A child reads its config ({@linkcode childConfig}), takes a stop function
 * from {@linkcode stopOnSigterm}, starts its host(s), then awaits
 * {@linkcode serveRequests} with its ready line `ready <hostId,…> <address,…>`.
 *
 * @module
 */

import type { Logger } from "../../actor/types.ts";
import { TextLineStream } from "./lines.ts";

/** The JSON config the parent put in the environment variable `name`. */
export function childConfig<T>(name: string): T {
  return JSON.parse(Deno.env.get(name)!) as T;
}

/** A logger for a child host: debug and info dropped, warnings and errors on stderr after `label`. */
export function childLogger(label: string): Logger {
  return {
    debug() {},
    info() {},
    warn: (m, a) => console.error(label, m, a),
    error: (m, a) => console.error(label, m, a),
  };
}

/** Copies the keys of `from` that are not `undefined`, so that options left out keep their defaults. */
export function definedOnly<T extends object>(from: T): Partial<T> {
  return Object.fromEntries(Object.entries(from).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const encoder = new TextEncoder();

/** Writes one line to stdout, all of it, before returning. */
export function say(line: string): void {
  const bytes = encoder.encode(line + "\n");
  for (let at = 0; at < bytes.length;) at += Deno.stdout.writeSync(bytes.subarray(at));
}

/**
 * Calls `stop` on SIGTERM, and returns a function that calls it too (for the
 * end of stdin); it runs once, then the process exits 0, or 1 (the error on
 * stderr) if `stop` rejected.
 */
export function stopOnSigterm(stop: () => Promise<unknown>): () => void {
  let stopping: Promise<void> | undefined;
  const once = () => {
    stopping ??= stop().then(() => Deno.exit(0), (err) => {
      console.error("stop failed:", err);
      Deno.exit(1);
    });
  };
  Deno.addSignalListener("SIGTERM", once);
  return once;
}

/** A request from the parent: an `id` to answer with, an `op`, and its fields. */
export interface ChildRequest {
  id: number;
  op: string;
}

/**
 * Prints the `ready` line, answers every JSON request read from stdin with
 * `handle`, concurrently (one line `{"id":…,"ok":…}` or
 * `{"id":…,"error":{name,code,message}}` each), and calls `stop` when stdin
 * ends.
 */
export async function serveRequests<R extends ChildRequest>(
  ready: string,
  handle: (req: R) => Promise<unknown>,
  stop: () => void,
): Promise<void> {
  say(ready);
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
  for await (const line of lines) {
    if (line.trim() === "") continue;
    const req = JSON.parse(line) as R;
    handle(req).then(
      (ok) => say(JSON.stringify({ id: req.id, ok: ok ?? null })),
      (err) => say(JSON.stringify({ id: req.id, error: { name: err?.name, code: err?.code, message: err?.message } })),
    );
  }
  stop();
}
