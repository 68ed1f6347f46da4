/**
 * One worker of the multi-process WebTransport test: a RemoteHost whose
 * runtime session is WebTransport (pinned hash + pinned CA), with the
 * cluster test actors; peer links stay TLS. Same stdin/stdout protocol as
 * `tests/_cluster/child.ts`; `failed <error name> <code>` and exit 1 when it
 * cannot start. Run with `--unstable-net`.
 *
 * Usage: FRANCIS_CHILD='{"url":…,"port":…,"runtimes":[…],"hostPsk":…,"caPem":…,"hash":…}' deno run -A --unstable-net tests/_wt/worker.ts
 */

import postgres from "postgres";
import { childConfig, say } from "../_shared/child_loop.ts";
import { createChildWorker } from "../_cluster/child_hosts.ts";
import { serveControl } from "../_cluster/control.ts";
import { registerClusterActors } from "../_cluster/actors.ts";
import type { WtWorkerConfig } from "./harness.ts";

const config = childConfig<WtWorkerConfig & { port: number; label: string }>("FRANCIS_CHILD");

const sql = postgres(config.url, { max: 2, onnotice: () => {} });
const host = createChildWorker(config, { transport: "webtransport", runtimeCertificateHash: config.hash });
registerClusterActors(host, sql, () => config.label);

try {
  await host.start({ signal: AbortSignal.timeout(30_000) });
} catch (err) {
  console.error(`${config.label} failed to start: ${(err as Error).name}: ${(err as Error).message}`);
  say(`failed ${(err as Error).name} ${(err as { code?: string }).code ?? ""}`);
  await sql.end();
  Deno.exit(1);
}
await serveControl(host, () => sql.end());
