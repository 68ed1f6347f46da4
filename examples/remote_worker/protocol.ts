/**
 * What `main.ts` (the launcher) and `worker.ts` (one worker process) say to
 * each other over the worker's stdin and stdout, one line per message:
 *
 * - the worker prints one ready line, `ready: <name> listening on <address> (pid <pid>, hostId <id>)`;
 * - the launcher writes {@linkcode CallRequest}s as JSON lines;
 * - the worker answers each with a {@linkcode CallResponse} JSON line, in any order.
 *
 * @module
 */

/** Every actor of the example replies with the name of the worker that ran it. */
export interface ActorReply {
  /** The `--name` of the worker process whose activation answered. */
  worker: string;
}

/** What `counter/<id>` answers to `increment` and `get`. */
export interface CounterReply extends ActorReply {
  n: number;
}

/** What `greeter/<id>` answers to `hello`. */
export interface GreeterReply extends ActorReply {
  text: string;
}

/**
 * Asks the worker to call an actor through its `host.service` (the call runs
 * on the actor's worker, forwarded over a peer link when that is another one),
 * or `{ op: "hostId" }` for the host ID the runtime issued it.
 */
export interface CallRequest {
  id: number;
  op?: "invoke" | "hostId";
  type?: string;
  actorId?: string;
  method?: string;
}

/** The outcome of one {@linkcode CallRequest}; `ms` is the call as timed inside the worker. */
export type CallResponse =
  | { id: number; ok: unknown; ms: number }
  | { id: number; error: { name: string; message: string } };

/** The ready line a worker prints once it has joined the runtime. */
export function readyLine(name: string, address: string, hostId: string): string {
  return `ready: ${name} listening on ${address} (pid ${Deno.pid}, hostId ${hostId})`;
}

/** Parses a {@linkcode readyLine}; `undefined` for any other line. */
export function parseReadyLine(line: string): { name: string; address: string; hostId: string } | undefined {
  const m = /^ready: (\S+) listening on (\S+) \(pid \d+, hostId (\S+)\)$/.exec(line);
  return m ? { name: m[1], address: m[2], hostId: m[3] } : undefined;
}

/** Splits a byte stream into text lines. */
export async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let i: number;
    while ((i = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
    }
  }
  if (buffer !== "") yield buffer;
}
