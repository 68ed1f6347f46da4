/**
 * One worker of the multi-process WebTransport test: a RemoteHost whose
 * runtime session is WebTransport (pinned hash + pinned CA), with the
 * cluster test actors; peer links stay TLS. Same stdin/stdout protocol as
 * `tests/_cluster/child.ts`. Run with `--unstable-net`.
 *
 * Usage: FRANCIS_CHILD='{"url":…,"port":…,"runtimes":[…],"hostPsk":…,"caPem":…,"hash":…}' deno run -A --unstable-net tests/_wt/worker.ts
 */

import postgres from "postgres";
import { RemoteHost } from "../../host_remote/mod.ts";
import { serveControl } from "../_cluster/control.ts";
import { registerClusterActors } from "../_cluster/actors.ts";
import type { WtWorkerConfig } from "./harness.ts";

const config = JSON.parse(Deno.env.get("FRANCIS_CHILD")!) as WtWorkerConfig & { port: number; label: string };

const sql = postgres(config.url, { max: 2, onnotice: () => {} });
const host = new RemoteHost({
  address: `127.0.0.1:${config.port}`,
  runtimeAddresses: config.runtimes,
  bootstrap: { psk: config.hostPsk },
  pinnedCa: config.caPem,
  transport: "webtransport",
  runtimeCertificateHash: config.hash,
  ...(config.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: config.requestTimeoutMs }),
  logger: { debug() {}, info() {}, warn: (m, a) => console.error(config.label, m, a), error: console.error },
});
registerClusterActors(host, sql, () => config.label);

try {
  await host.start({ signal: AbortSignal.timeout(30_000) });
} catch (err) {
  console.error(`${config.label} failed to start: ${(err as Error).name}: ${(err as Error).message}`);
  console.log(`failed ${(err as Error).name} ${(err as { code?: string }).code ?? ""}`);
  await sql.end();
  Deno.exit(1);
}
await serveControl(host, () => sql.end());
