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
import { serveControl } from "./control.ts";
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

await host.start();
await serveControl(host, () => sql.end());
