/**
 * One host process of the multi-host benchmark scenarios (f–i): a `LocalHost`
 * on PostgreSQL with DEFAULT options, serving the benchmark actor types named
 * in its config, optionally next to a raw `node:tls` echo server (scenario f).
 *
 * It prints `ready <hostId> <address> <rawEchoPort>` once started (port 0 when
 * there is no echo server), then answers JSON requests, one per stdin line,
 * with one JSON line each (`{"id":…,"ok":…}` or `{"id":…,"error":{…}}`):
 *
 * - `{"id":1,"op":"invoke","type":"counter","actorId":"c1"}`
 * - `{"id":2,"op":"warm","type":"counter","actorIds":[…],"rounds":3}`: every
 *   actor called `rounds` times, actors concurrently, calls of one actor in turn
 * - `{"id":3,"op":"loop","type":"counter","actorIds":[…],"startAt":…,"durationMs":5000}`:
 *   one caller per actor, looping from `startAt` (epoch ms) for `durationMs`;
 *   answers `{ counts, last, errors, firstError, endedAt }`
 * - `{"id":4,"op":"activate","type":"trivial","prefix":"x-","count":1000,"concurrency":85,"startAt":…}`:
 *   `count` never-seen IDs `prefix0…`, `concurrency` in flight; answers `{ done, errors, firstError, endedAt }`
 * - `{"id":5,"op":"measure","type":"echo","actorId":"seq","prefix":"c","warmup":…,"calls":…,"perCaller":…,"inFlight":64}`:
 *   `measureCalls` of `_util.ts` run in this process: sequential calls on `actorId`, then `inFlight` callers on
 *   `prefix0…`; answers a `CallMeasurement` (scenario j)
 * - `{"id":6,"op":"dispatch","type":"jobber","prefix":"a","actors":1000,"jobs":[0,3,6,…],"concurrency":256,"startAt":…}`:
 *   `host.service.dispatch` of one job per number `k` in `jobs` (input `k`) to actor `prefix(k mod actors)`,
 *   `concurrency` in flight; answers `{ done, errors, firstError, endedAt, acks }` (`acks[i]`: `Date.now()` when the
 *   dispatch of `jobs[i]` resolved; scenario m)
 * - `{"id":7,"op":"jobStats","full":false}`: what the `jobber` handler recorded here: `{ runs, duplicates, first,
 *   last }` (`Date.now()` at the first and last handler entry), plus `entries` (`[k, at]` pairs) with `full`;
 *   `{"op":"jobReset"}` forgets it
 *
 * SIGTERM, or the end of stdin, stops the host and exits 0.
 *
 * Usage: FRANCIS_BENCH_CHILD='{"url":…,"port":…,"psk":…,"label":…,"types":[…]}' deno run -A bench/_child.ts
 *
 * @module
 */

import type { Server, TLSSocket } from "node:tls";
import { LocalHost } from "../mod.ts";
import { createPostgresProvider } from "../providers/postgres/mod.ts";
import { createHostCredentials } from "../security/credentials.ts";
import { childConfig, childLogger, serveRequests, stopOnSigterm } from "../tests/_shared/child_loop.ts";
import { counterActor, measureCalls } from "./_util.ts";

/** The actor types a bench child can serve. */
export type BenchActorType = "echo" | "counter" | "trivial" | "where" | "jobber";

/** What the parent passes in `FRANCIS_BENCH_CHILD`. */
export interface BenchChildConfig {
  url: string;
  port: number;
  psk: string;
  label: string;
  types: BenchActorType[];
  /** Also run a raw `node:tls` echo server (u32 length + body framing) on a free port. */
  rawEcho?: boolean;
}

const config = childConfig<BenchChildConfig>("FRANCIS_BENCH_CHILD");

/** Scenario m: handler entry (`Date.now()`) per job number, and how many numbers ran more than once here. */
const jobRuns = new Map<number, number>();
let jobDuplicates = 0;

const host = new LocalHost({
  address: `127.0.0.1:${config.port}`,
  runtimePsks: [config.psk],
  provider: createPostgresProvider({ url: config.url }),
  logger: childLogger(config.label),
});

for (const type of config.types) {
  if (type === "echo") host.registerActor("echo", () => ({ invoke: () => ({ ok: true }) }));
  else if (type === "trivial") host.registerActor("trivial", () => ({ invoke: () => 1 }));
  else if (type === "where") host.registerActor("where", () => ({ invoke: () => config.label }));
  else if (type === "jobber") {
    host.registerActor("jobber", () => ({
      job(_method: string, data: unknown) {
        const at = Date.now();
        const k = data as number;
        if (jobRuns.has(k)) jobDuplicates++;
        else jobRuns.set(k, at);
      },
    }));
  } else if (type === "counter") host.registerActor("counter", counterActor("counter", (n) => n));
  else throw new TypeError(`unknown bench actor type ${type}`);
}

/** Raw echo: every frame (u32 big-endian length + body) is written back as is. */
async function startRawEcho(): Promise<{ server: Server; port: number }> {
  const tls = await import("node:tls");
  const creds = await createHostCredentials([new TextEncoder().encode(config.psk)], `raw-echo-${config.label}`);
  const server = tls.createServer({
    key: creds.keyPem,
    cert: creds.certPem,
    ca: [...creds.caPems],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
  }, (socket: TLSSocket) => {
    socket.setNoDelay(true);
    let buf: Uint8Array = new Uint8Array(0);
    socket.on("data", (chunk: Uint8Array) => {
      buf = buf.length === 0 ? chunk : concat(buf, chunk);
      let off = 0;
      while (buf.length - off >= 4) {
        const n = new DataView(buf.buffer, buf.byteOffset + off, 4).getUint32(0);
        if (buf.length - off < 4 + n) break;
        socket.write(buf.subarray(off, off + 4 + n));
        off += 4 + n;
      }
      buf = off === buf.length ? new Uint8Array(0) : buf.slice(off);
    });
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const rawEcho = config.rawEcho ? await startRawEcho() : undefined;

const stop = stopOnSigterm(() => {
  rawEcho?.server.close();
  return host.stop();
});

await host.start();

interface Request {
  id: number;
  op: string;
  type: string;
  actorId?: string;
  actorIds?: string[];
  rounds?: number;
  startAt?: number;
  durationMs?: number;
  prefix?: string;
  count?: number;
  concurrency?: number;
  warmup?: number;
  calls?: number;
  perCaller?: number;
  inFlight?: number;
  actors?: number;
  jobs?: number[];
  full?: boolean;
}

const untilEpoch = (at: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

async function handle(req: Request): Promise<unknown> {
  const s = host.service;
  switch (req.op) {
    case "invoke":
      return await s.invoke(req.type, req.actorId!, "call");
    case "warm": {
      await Promise.all(req.actorIds!.map(async (id) => {
        for (let r = 0; r < req.rounds!; r++) await s.invoke(req.type, id, "call");
      }));
      return null;
    }
    case "loop": {
      const ids = req.actorIds!;
      const counts = new Array<number>(ids.length).fill(0);
      const last = new Array<unknown>(ids.length).fill(null);
      let errors = 0, firstError: string | undefined;
      await untilEpoch(req.startAt!);
      const end = req.startAt! + req.durationMs!;
      await Promise.all(ids.map(async (id, w) => {
        while (Date.now() < end) {
          try {
            last[w] = await s.invoke(req.type, id, "call");
            counts[w]++;
          } catch (err) {
            errors++;
            firstError ??= String(err);
          }
        }
      }));
      return { counts, last, errors, firstError, endedAt: Date.now() };
    }
    case "activate": {
      let next = 0, done = 0, errors = 0, firstError: string | undefined;
      await untilEpoch(req.startAt!);
      await Promise.all(Array.from({ length: req.concurrency! }, async () => {
        while (next < req.count!) {
          const id = `${req.prefix}${next++}`;
          try {
            await s.invoke(req.type, id, "call");
            done++;
          } catch (err) {
            errors++;
            firstError ??= String(err);
          }
        }
      }));
      return { done, errors, firstError, endedAt: Date.now() };
    }
    case "measure":
      return await measureCalls(
        { warmup: req.warmup!, calls: req.calls!, perCaller: req.perCaller!, inFlight: req.inFlight! },
        () => s.invoke(req.type, req.actorId!, "ping"),
        (c) => s.invoke(req.type, `${req.prefix}${c}`, "ping"),
      );
    case "dispatch": {
      const jobs = req.jobs!;
      const acks = new Array<number>(jobs.length).fill(0);
      let next = 0, done = 0, errors = 0, firstError: string | undefined;
      await untilEpoch(req.startAt!);
      await Promise.all(Array.from({ length: Math.min(req.concurrency!, jobs.length) }, async () => {
        while (next < jobs.length) {
          const i = next++;
          const k = jobs[i];
          try {
            await s.dispatch(req.type, `${req.prefix}${k % req.actors!}`, "run", k);
            acks[i] = Date.now();
            done++;
          } catch (err) {
            errors++;
            firstError ??= String(err);
          }
        }
      }));
      return { done, errors, firstError, endedAt: Date.now(), acks };
    }
    case "jobStats": {
      let first = Infinity, last = -Infinity;
      for (const at of jobRuns.values()) [first, last] = [Math.min(first, at), Math.max(last, at)];
      return {
        runs: jobRuns.size,
        duplicates: jobDuplicates,
        first: jobRuns.size === 0 ? null : first,
        last: jobRuns.size === 0 ? null : last,
        ...(req.full ? { entries: [...jobRuns] } : {}),
      };
    }
    case "jobReset":
      jobRuns.clear();
      jobDuplicates = 0;
      return null;
    default:
      throw new TypeError(`unknown op ${req.op}`);
  }
}

await serveRequests(`ready ${host.hostId} ${host.address} ${rawEcho?.port ?? 0}`, handle, stop);
