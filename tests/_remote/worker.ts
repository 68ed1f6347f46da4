/**
 * One worker of the multi-process remote tests: a RemoteHost pinned to the
 * cluster CA, with the cluster test actors. Same stdin/stdout protocol as
 * `tests/_cluster/child.ts` (`ready <hostId> <address>`, then JSON lines).
 *
 * Usage: FRANCIS_CHILD='{"url":…,"port":…,"runtimes":[…],"hostPsk":…,"caPem":…}' deno run -A tests/_remote/worker.ts
 */

import postgres from "postgres";
import { RemoteHost } from "../../host_remote/mod.ts";
import { TextLineStream } from "../_lines.ts";
import { registerClusterActors } from "../_cluster/actors.ts";

interface WorkerConfig {
  url: string;
  port: number;
  label: string;
  runtimes: string[];
  hostPsk: string;
  caPem: string;
  requestTimeoutMs?: number;
}

const config = JSON.parse(Deno.env.get("FRANCIS_CHILD")!) as WorkerConfig;
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

const sql = postgres(config.url, { max: 2, onnotice: () => {} });
const host = new RemoteHost({
  address: `127.0.0.1:${config.port}`,
  runtimeAddresses: config.runtimes,
  bootstrap: { psk: config.hostPsk },
  pinnedCa: config.caPem,
  ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
  logger: { debug() {}, info() {}, warn: (m, a) => console.error(config.label, m, a), error: console.error },
});
registerClusterActors(host, sql, () => config.label);

let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= host.stop().then(() => sql.end()).then(() => Deno.exit(0));
};
Deno.addSignalListener("SIGTERM", stop);

await host.start({ signal: AbortSignal.timeout(30_000) });
say(`ready ${host.hostId} ${host.address}`);

interface Request {
  id: number;
  op: string;
  type: string;
  actorId?: string;
  actorIds?: string[];
  method?: string;
  name?: string;
  interval?: number;
}

async function handle(req: Request): Promise<unknown> {
  const s = host.service;
  switch (req.op) {
    case "invoke":
      return await s.invoke(req.type, req.actorId!, req.method!);
    case "burst": {
      const results = await Promise.allSettled(req.actorIds!.map((id) => s.invoke(req.type, id, req.method!)));
      return results.map((r) => r.status === "fulfilled" ? r.value : { error: String(r.reason) });
    }
    case "setAlarm":
      return await s.setAlarm(req.type, req.actorId!, req.name!, { delayMs: 0, interval: req.interval });
    case "hostId":
      return host.hostId;
    default:
      throw new TypeError(`unknown op ${req.op}`);
  }
}

const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream());
for await (const line of lines) {
  if (line.trim() === "") continue;
  const req = JSON.parse(line) as Request;
  handle(req).then(
    (ok) => say(JSON.stringify({ id: req.id, ok: ok ?? null })),
    (err) => say(JSON.stringify({ id: req.id, error: { name: err?.name, code: err?.code, message: err?.message } })),
  );
}
stop();
