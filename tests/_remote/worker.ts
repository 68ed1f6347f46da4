/**
 * One worker of the multi-process remote tests: a RemoteHost pinned to the
 * cluster CA, with the cluster test actors. Same stdin/stdout protocol as
 * `tests/_cluster/child.ts` (`ready <hostId> <address>`, then JSON lines).
 *
 * Usage: FRANCIS_CHILD='{"url":…,"port":…,"runtimes":[…],"hostPsk":…,"caPem":…}' deno run -A tests/_remote/worker.ts
 */

import postgres from "postgres";
import { childConfig } from "../_shared/child_loop.ts";
import { type ChildWorkerConfig, createChildWorker } from "../_cluster/child_hosts.ts";
import { serveControl } from "../_cluster/control.ts";
import { registerClusterActors } from "../_cluster/actors.ts";

const config = childConfig<ChildWorkerConfig>("FRANCIS_CHILD");

const sql = postgres(config.url, { max: 2, onnotice: () => {} });
const host = createChildWorker(config);
registerClusterActors(host, sql, () => config.label);

await host.start({ signal: AbortSignal.timeout(30_000) });
await serveControl(host, () => sql.end());
