/**
 * One worker process of the remote-topology scenarios (j–l): one or more
 * `RemoteHost`s (DEFAULT options; the settings the runtime grants apply),
 * each with its own runtime session (TLS, PSK bootstrap) and its own peer
 * listener on `127.0.0.1:0`, all joined to the runtime(s) in its config.
 *
 * It prints `ready <hostId,…> <address,…> 0` once every host started, then
 * answers JSON requests, one per stdin line, with one JSON line each
 * (`{"id":…,"ok":…}` or `{"id":…,"error":{…}}`), like `_child.ts`. `h` picks
 * the host (index, default 0):
 *
 * - `{"id":1,"op":"invoke","h":0,"type":"counter","actorId":"c1"}`: `counter`
 *   writes its state and answers `{ n, label }` (label of the owning host)
 * - `{"id":2,"op":"measure","h":0,"type":"echo","actorId":"seq","prefix":"c","warmup":…,"calls":…,"perCaller":…,"inFlight":64}`:
 *   `measureCalls` of `_util.ts` run in this process (scenario j)
 * - `{"id":3,"op":"rpcs"}`: how many runtime RPCs (provider calls) every host
 *   of this process sent so far, by method, and the states of the hosts
 *
 * SIGTERM, or the end of stdin, stops every host and exits 0.
 *
 * Usage: FRANCIS_BENCH_CHILD='{"label":…,"runtimes":[…],"hostPsk":…,"caPem":…,"types":[…]}' deno run -A bench/_worker.ts
 *
 * @module
 */

import { RemoteHost } from "../host_remote/mod.ts";
import { RemoteProvider } from "../host_remote/remote_provider.ts";
import { childConfig, childLogger, serveRequests, stopOnSigterm } from "../tests/_shared/child_loop.ts";
import { counterActor, measureCalls, pool } from "./_util.ts";

/** The actor types a bench worker can serve. */
export type BenchWorkerActorType = "echo" | "counter";

/** What the parent passes in `FRANCIS_BENCH_CHILD`. */
export interface BenchWorkerConfig {
  label: string;
  /** Runtime addresses (`host:port`). */
  runtimes: string[];
  /** Host bootstrap PSK. */
  hostPsk: string;
  /** The cluster CA (PEM) the runtime must chain to. */
  caPem: string;
  /** Actor types every host of this process serves (none: a caller that forwards every call). */
  types: BenchWorkerActorType[];
  /** `RemoteHost`s in this process. @default {1} */
  hosts?: number;
}

const config = childConfig<BenchWorkerConfig>("FRANCIS_BENCH_CHILD");

// Counts every runtime RPC the hosts send: each `RemoteProvider` method is one request on the session.
const rpcs: Record<string, number> = {};
const proto = RemoteProvider.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const name of Object.getOwnPropertyNames(RemoteProvider.prototype)) {
  const original = proto[name];
  if (name === "constructor" || typeof original !== "function" || ["acquire", "release", "cleanup"].includes(name)) {
    continue;
  }
  proto[name] = function (this: unknown, ...args: unknown[]) {
    rpcs[name] = (rpcs[name] ?? 0) + 1;
    return original.apply(this, args);
  };
}

const count = config.hosts ?? 1;
const labelOf = (i: number) => count === 1 ? config.label : `${config.label}.${i}`;
const hosts = Array.from({ length: count }, (_, i) => {
  const label = labelOf(i);
  const host = new RemoteHost({
    address: "127.0.0.1:0",
    runtimeAddresses: config.runtimes,
    bootstrap: { psk: config.hostPsk },
    pinnedCa: config.caPem,
    logger: childLogger(label),
  });
  for (const type of config.types) {
    if (type === "echo") host.registerActor("echo", () => ({ invoke: () => ({ ok: true }) }));
    else if (type === "counter") host.registerActor("counter", counterActor("counter", (n) => ({ n, label })));
    else throw new TypeError(`unknown bench worker actor type ${type}`);
  }
  return host;
});

const stop = stopOnSigterm(() => Promise.allSettled(hosts.map((h) => h.stop())));

// Joins 5 at a time, so that a process of many workers does not flood the runtime's admission.
await pool(hosts.length, 5, (i) => hosts[i].start({ signal: AbortSignal.timeout(60_000) }));

interface Request {
  id: number;
  op: string;
  h?: number;
  type: string;
  actorId?: string;
  prefix?: string;
  warmup?: number;
  calls?: number;
  perCaller?: number;
  inFlight?: number;
}

async function handle(req: Request): Promise<unknown> {
  const s = hosts[req.h ?? 0].service;
  switch (req.op) {
    case "invoke":
      return await s.invoke(req.type, req.actorId!, "call");
    case "measure":
      return await measureCalls(
        { warmup: req.warmup!, calls: req.calls!, perCaller: req.perCaller!, inFlight: req.inFlight! },
        () => s.invoke(req.type, req.actorId!, "ping"),
        (c) => s.invoke(req.type, `${req.prefix}${c}`, "ping"),
      );
    case "rpcs":
      return { rpcs: { ...rpcs }, states: hosts.map((h) => h.state), hostIds: hosts.map((h) => h.hostId) };
    default:
      throw new TypeError(`unknown op ${req.op}`);
  }
}

await serveRequests(
  `ready ${hosts.map((h) => h.hostId).join(",")} ${hosts.map((h) => h.address).join(",")} 0`,
  handle,
  stop,
);
