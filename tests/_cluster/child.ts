/**
 * One host of a multi-process cluster test: a LocalHost on PostgreSQL with the
 * cluster test actors. It prints `ready <hostId> <address>` once started, then
 * answers JSON requests, one per stdin line, with one JSON line each:
 *
 * - `{"id":1,"op":"invoke","type":"counter","actorId":"c1","method":"inc"}`
 * - `{"id":2,"op":"burst","type":"counter","actorIds":["c1",…],"method":"get"}` (all at once)
 * - `{"id":3,"op":"setAlarm","type":"ticker","actorId":"t1","name":"tick","interval":200}`
 *
 * SIGTERM stops the host gracefully and exits 0.
 *
 * Usage: FRANCIS_CHILD='{"url":…,"port":…,"psk":…}' deno run -A tests/_cluster/child.ts
 */

import postgres from "postgres";
import { LocalHost } from "../../mod.ts";
import { createPostgresProvider } from "../../providers/postgres/mod.ts";
import { TextLineStream } from "../_lines.ts";
import { registerClusterActors } from "./actors.ts";

interface ChildConfig {
  url: string;
  port: number;
  psk: string;
  label: string;
  healthCheckDeadlineMs?: number;
  alarmsLeaseDurationMs?: number;
  alarmsPollIntervalMs?: number;
}

const config = JSON.parse(Deno.env.get("FRANCIS_CHILD")!) as ChildConfig;
const encoder = new TextEncoder();
const say = (line: string) => Deno.stdout.writeSync(encoder.encode(line + "\n"));

const sql = postgres(config.url, { max: 2, onnotice: () => {} });
const host = new LocalHost({
  address: `127.0.0.1:${config.port}`,
  runtimePsks: [config.psk],
  provider: createPostgresProvider({ url: config.url, maxConnections: 4 }),
  ...(config.healthCheckDeadlineMs === undefined ? {} : { healthCheckDeadlineMs: config.healthCheckDeadlineMs }),
  ...(config.alarmsLeaseDurationMs === undefined ? {} : { alarmsLeaseDurationMs: config.alarmsLeaseDurationMs }),
  ...(config.alarmsPollIntervalMs === undefined ? {} : { alarmsPollIntervalMs: config.alarmsPollIntervalMs }),
  logger: { debug() {}, info() {}, warn: (m, a) => console.error(config.label, m, a), error: console.error },
});
registerClusterActors(host, sql, () => config.label);

let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= host.stop().then(() => sql.end()).then(() => Deno.exit(0));
};
Deno.addSignalListener("SIGTERM", stop);

await host.start();
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
