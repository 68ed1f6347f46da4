/**
 * What `main.ts` (the launcher) and `host.ts` (one host process) say to each
 * other over the host's stdin and stdout, one line per message:
 *
 * - the host prints one ready line, `ready: <name> listening on <address> (pid <pid>, hostId <id>)`;
 * - the launcher writes {@linkcode CallRequest}s as JSON lines;
 * - the host answers each with a {@linkcode CallResponse} JSON line, in any order.
 *
 * @module
 */

/** The table prefix of the example, so its tables never mix with other data. */
export const DEFAULT_TABLE_PREFIX = "francis_cluster_demo";

/** Every actor of the example replies with the name of the host that ran it. */
export interface ActorReply {
  /** The `--name` of the host process whose activation answered. */
  host: string;
}

/** What `counter/<id>` answers to `increment` and `get`. */
export interface CounterReply extends ActorReply {
  n: number;
}

/** What `greeter/<id>` answers to `hello`. */
export interface GreeterReply extends ActorReply {
  text: string;
}

/** Asks the host to call an actor through its `host.service`; the call is forwarded when the actor lives elsewhere. */
export interface CallRequest {
  id: number;
  type: string;
  actorId: string;
  method: string;
  data?: unknown;
}

/** The outcome of one {@linkcode CallRequest}; `ms` is the call as timed inside the entry host. */
export type CallResponse =
  | { id: number; ok: unknown; ms: number }
  | { id: number; error: { name: string; message: string } };

/** The ready line a host prints once started, and the pattern that parses it. */
export function readyLine(name: string, address: string, hostId: string): string {
  return `ready: ${name} listening on ${address} (pid ${Deno.pid}, hostId ${hostId})`;
}

/** Parses a {@linkcode readyLine}; `undefined` for any other line. */
export function parseReadyLine(line: string): { name: string; address: string; pid: number } | undefined {
  const m = /^ready: (\S+) listening on (\S+) \(pid (\d+),/.exec(line);
  return m ? { name: m[1], address: m[2], pid: Number(m[3]) } : undefined;
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
