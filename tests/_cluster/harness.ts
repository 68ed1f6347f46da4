/**
 * Spawns the host processes of the cluster tests (see `child.ts`): real OS
 * processes on real ports, talking to a real PostgreSQL database, stopped
 * with SIGTERM or killed with SIGKILL.
 */

import type postgres from "postgres";
import { openTestDatabase } from "../_shared/database.ts";
import { allReady, freePort, LineProcess } from "../_shared/processes.ts";

/** Settings shared by every child of one cluster. */
export interface ClusterSettings {
  url: string;
  psk: string;
  healthCheckDeadlineMs?: number;
  alarmsLeaseDurationMs?: number;
  alarmsPollIntervalMs?: number;
}

const CHILD = new URL("./child.ts", import.meta.url).pathname;

/** One host process; `dispose()` kills it (SIGKILL) and reaps it. */
export type ClusterChild = LineProcess;

/** Starts host `label` of `script` (its config: `settings`, a free port and the label in `FRANCIS_CHILD`). */
export function startChild(settings: object, label: string, script: string = CHILD): ClusterChild {
  const env = { FRANCIS_CHILD: JSON.stringify({ ...settings, port: freePort(), label }) };
  return new LineProcess({ label, args: [script], env });
}

/** Starts `n` hosts (`<prefix>0`, …) and waits until every one is ready. */
export function startChildren(settings: object, n: number, prefix = "h", script?: string): Promise<ClusterChild[]> {
  return allReady(Array.from({ length: n }, (_, i) => startChild(settings, `${prefix}${i}`, script)));
}

/** Host processes on a fresh database; disposing kills every host in `children`, then drops the database. */
export interface HostCluster<S> extends AsyncDisposable {
  /** A client on the database. */
  sql: postgres.Sql;
  /** What every host was started with (the database URL included). */
  settings: S;
  /** The hosts, `h0`, `h1`, …; a test that restarts one puts the new one in its place. */
  children: ClusterChild[];
}

/** Creates a database with `schema` and starts `hosts` hosts of `script` on it, all ready. */
export async function startHostCluster<S extends object>(
  o: { schema: string; settings: S; hosts: number; script?: string },
): Promise<HostCluster<S & { url: string }>> {
  const db = await openTestDatabase(o.schema);
  const cluster: HostCluster<S & { url: string }> = {
    sql: db.sql,
    settings: { url: db.url, ...o.settings },
    children: [],
    async [Symbol.asyncDispose]() {
      await Promise.all(cluster.children.map((child) => child.dispose()));
      await db[Symbol.asyncDispose]();
    },
  };
  try {
    cluster.children = await startChildren(cluster.settings, o.hosts, "h", o.script);
  } catch (err) {
    await cluster[Symbol.asyncDispose]();
    throw err;
  }
  return cluster;
}
