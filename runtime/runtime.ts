/**
 * `startRuntime`: the control plane of the remote topology (API.md §19.1).
 * It resolves the options, opens the provider, and runs the worker listener,
 * admission, the session RPCs and the health endpoints (`core.ts`).
 *
 * @module
 */

import { resolveRuntimeOptions, type RuntimeOptions } from "./options.ts";
import { createProviderFromConnectionString, parseConnectionString } from "./provider_spec.ts";
import { RuntimeCore } from "./core.ts";
import type { ActorProvider } from "../providers/types.ts";
import { lockSqliteStore, type ReplicaLock } from "./_replica_lock.ts";

/** A running runtime (API.md §19.1). */
export interface Runtime extends AsyncDisposable {
  /** This replica's ID. */
  readonly runtimeId: string;
  /** The bound worker endpoint, `"host:port"` (port 0 resolved). */
  readonly address: string;
  /** The bound health endpoint `"host:port"`, or `""` when it is off (added). */
  readonly healthAddress: string;
  /** The cluster CA PEM of every runtime PSK, in order. */
  readonly caPems: readonly string[];
  /** Number of connected worker sessions. */
  readonly connectedHosts: number;
  /** Resolves after `stop()`; rejects if the runtime stops by itself. */
  readonly closed: Promise<void>;
  /** Stops gracefully; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the runtime; resolves when it is listening. With a SQLite
 * connection string it first takes the store's lock (`_replica_lock.ts`): a
 * second runtime on the same file rejects with `ProviderError`.
 *
 * @example
 * ```ts
 * import { startRuntime } from "./runtime.ts";
 * const runtime = await startRuntime({
 *   bind: "127.0.0.1:0",
 *   runtimePsks: ["an example runtime PSK, 32 bytes or more"],
 *   bootstrap: { method: "psk", hostPsk: "a host PSK, 16+ bytes" },
 *   provider: { connectionString: "memory" },
 *   logger: { debug() {}, info() {}, warn() {}, error() {} },
 * });
 * console.log(runtime.caPems.length); // 1
 * await runtime.stop();
 * ```
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const o = resolveRuntimeOptions(options);
  let lock: ReplicaLock | undefined;
  if (!isProvider(o.provider) && o.providerDriver === "sqlite") {
    const parsed = parseConnectionString(o.provider.connectionString);
    if (parsed.driver === "sqlite") lock = await lockSqliteStore(parsed.path);
  }
  let core: RuntimeCore;
  try {
    const provider: ActorProvider = isProvider(o.provider)
      ? o.provider
      : await createProviderFromConnectionString(o.provider);
    core = await start(o, provider);
  } catch (err) {
    await lock?.release();
    throw err;
  }
  o.logger.info("Runtime listening", { runtimeId: core.runtimeId, address: core.address, transport: o.transport });
  const closed = Promise.withResolvers<void>();
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= core.stop().finally(() => lock?.release()).then(() => closed.resolve());
    return stopping;
  };
  return {
    runtimeId: core.runtimeId,
    address: core.address,
    healthAddress: core.healthAddress,
    caPems: core.caPems,
    get connectedHosts() {
      return core.sessions.size;
    },
    closed: closed.promise,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

function start(o: ReturnType<typeof resolveRuntimeOptions>, provider: ActorProvider): Promise<RuntimeCore> {
  return RuntimeCore.start({
    host: o.bindHost,
    port: o.bindPort,
    runtimeId: o.runtimeId,
    psks: o.runtimePsks,
    provider,
    bootstrap: o.bootstrap,
    settings: {
      healthCheckDeadlineMs: o.healthCheckDeadlineMs,
      alarmsPollIntervalMs: o.alarmsPollIntervalMs,
      alarmsLeaseDurationMs: o.alarmsLeaseDurationMs,
      alarmsFetchAheadMs: o.alarmsFetchAheadMs,
      alarmsFetchBatchSize: o.alarmsFetchBatchSize,
      workloadCertTtlMs: o.workloadCertTtlMs,
      maxHosts: o.maxHosts,
      alarmExecutionTimeoutMs: o.alarmExecutionTimeoutMs,
    },
    shutdownGracePeriodMs: o.shutdownGracePeriodMs,
    requestTimeoutMs: o.requestTimeoutMs,
    maxInFlightRequests: 10_000,
    healthBind: o.healthBind,
    transport: o.transport,
    logger: o.logger,
  });
}

function isProvider(p: unknown): p is ActorProvider {
  return typeof p === "object" && p !== null && typeof (p as ActorProvider).acquire === "function";
}
