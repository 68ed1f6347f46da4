/**
 * The hosts the child processes of the multi-process tests run, built from
 * their `FRANCIS_CHILD` config: a LocalHost on PostgreSQL (`child.ts`,
 * `../_builtin/child.ts`) or a RemoteHost worker pinned to the cluster CA
 * (`../_remote/worker.ts`, `../_wt/worker.ts`).
 */

import { LocalHost } from "../../mod.ts";
import { RemoteHost } from "../../host_remote/mod.ts";
import type { RemoteHostOptions } from "../../host_remote/options.ts";
import { createPostgresProvider } from "../../providers/postgres/mod.ts";
import { childLogger, definedOnly } from "../_shared/child_loop.ts";
import type { ClusterSettings } from "./harness.ts";

/** What a child host is told: the cluster's settings, its port and its label. */
export type ChildHostConfig = ClusterSettings & { port: number; label: string };

/** A LocalHost on the cluster's PostgreSQL database; settings left out keep their defaults. */
export function createChildHost(config: ChildHostConfig): LocalHost {
  return new LocalHost({
    address: `127.0.0.1:${config.port}`,
    runtimePsks: [config.psk],
    provider: createPostgresProvider({ url: config.url, maxConnections: 4 }),
    ...definedOnly({
      healthCheckDeadlineMs: config.healthCheckDeadlineMs,
      alarmsLeaseDurationMs: config.alarmsLeaseDurationMs,
      alarmsPollIntervalMs: config.alarmsPollIntervalMs,
    }),
    logger: childLogger(config.label),
  });
}

/** What a child worker is told. */
export interface ChildWorkerConfig {
  /** The database the cluster test actors write their records to. */
  url: string;
  port: number;
  label: string;
  runtimes: string[];
  hostPsk: string;
  caPem: string;
  requestTimeoutMs?: number;
}

/** A RemoteHost admitted with the host PSK, pinning the cluster CA; `extra` wins. */
export function createChildWorker(config: ChildWorkerConfig, extra: Partial<RemoteHostOptions> = {}): RemoteHost {
  return new RemoteHost({
    address: `127.0.0.1:${config.port}`,
    runtimeAddresses: config.runtimes,
    bootstrap: { psk: config.hostPsk },
    pinnedCa: config.caPem,
    ...definedOnly({ requestTimeoutMs: config.requestTimeoutMs }),
    logger: childLogger(config.label),
    ...extra,
  });
}
