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
import { childConfig } from "../_shared/child_loop.ts";
import { type ChildHostConfig, createChildHost } from "./child_hosts.ts";
import { serveControl } from "./control.ts";
import { registerClusterActors } from "./actors.ts";

const config = childConfig<ChildHostConfig>("FRANCIS_CHILD");

const sql = postgres(config.url, { max: 2, onnotice: () => {} });
const host = createChildHost(config);
registerClusterActors(host, sql, () => config.label);

await host.start();
await serveControl(host, () => sql.end());
