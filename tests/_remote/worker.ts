/**
 * One worker of the multi-process remote tests: a RemoteHost pinned to the
 * cluster CA, with the cluster test actors. Same stdin/stdout protocol as
 * `tests/_cluster/child.ts` (`ready <hostId> <address>`, then JSON lines).
 *
 * Usage: FRANCIS_CHILD='{"url":…,"port":…,"runtimes":[…],"hostPsk":…,"caPem":…}' deno run -A tests/_remote/worker.ts
 */

import postgres from "postgres";
import { RemoteHost } from "../../host_remote/mod.ts";
import { serveControl } from "../_cluster/control.ts";
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

await host.start({ signal: AbortSignal.timeout(30_000) });
await serveControl(host, () => sql.end());
