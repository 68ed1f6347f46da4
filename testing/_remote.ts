/**
 * In-process remote topology for tests (not exported): a `RuntimeCore` on a
 * memory store with test-friendly settings, and `RemoteHost` workers admitted
 * with the host PSK and pinning its CA. Real TLS everywhere.
 *
 * @module
 */

import { generatePsk } from "../_internal/psk.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { RuntimeCore, type RuntimeCoreConfig } from "../runtime/core.ts";
import { RemoteHost } from "../host_remote/host.ts";
import type { RemoteHostOptions } from "../host_remote/options.ts";

/** A logger that drops everything. */
export const QUIET_LOGGER = { debug() {}, info() {}, warn() {}, error() {} };
/** The host bootstrap PSK every test runtime admits. */
export const TEST_HOST_PSK = "worker-bootstrap-secret-123";

/** A test runtime: dispose to stop it. */
export type TestRuntime = RuntimeCore & AsyncDisposable & {
  /** The runtime PSK it was started with (the first of `psks`). */
  readonly runtimePsk: Uint8Array;
};

/**
 * Starts a runtime on 127.0.0.1 (random port); `extra` wins. Dispose to stop it.
 *
 * @example
 * ```ts ignore
 * await using rt = await startTestRuntime();
 * const worker = createTestWorker(rt);
 * ```
 */
export async function startTestRuntime(extra: Partial<RuntimeCoreConfig> = {}): Promise<TestRuntime> {
  const runtimePsk = extra.psks?.[0] ?? new TextEncoder().encode(generatePsk());
  const core = await RuntimeCore.start({
    host: "127.0.0.1",
    port: 0,
    runtimeId: "rt-1",
    psks: [runtimePsk],
    provider: createMemoryProvider(),
    bootstrap: { method: "psk", hostPsk: new TextEncoder().encode(TEST_HOST_PSK) },
    settings: {
      healthCheckDeadlineMs: 20_000,
      alarmsPollIntervalMs: 250,
      alarmsLeaseDurationMs: 20_000,
      alarmsFetchAheadMs: 2_500,
      alarmsFetchBatchSize: 25,
      workloadCertTtlMs: 3_600_000,
      maxHosts: 0,
    },
    requestTimeoutMs: 5_000,
    maxInFlightRequests: 100,
    healthBind: undefined,
    logger: QUIET_LOGGER,
    ...extra,
  });
  return Object.assign(core, { runtimePsk, [Symbol.asyncDispose]: () => core.stop() });
}

/**
 * A worker of `rt` (not started; `rt` is a `RuntimeCore` or a `Runtime`): listening on a random port, or
 * client-only; `extra` wins.
 *
 * @example
 * ```ts ignore
 * const client = createTestWorker(rt, { clientOnly: true });
 * ```
 */
export function createTestWorker(
  rt: { readonly address: string; readonly caPems: readonly string[] },
  extra: Partial<RemoteHostOptions> = {},
): RemoteHost {
  const common = { runtimeAddresses: [rt.address], bootstrap: { psk: TEST_HOST_PSK }, pinnedCa: [...rt.caPems] };
  if (extra.clientOnly === true) {
    return new RemoteHost({ ...common, logger: QUIET_LOGGER, ...extra } as RemoteHostOptions);
  }
  return new RemoteHost(
    { ...common, address: "127.0.0.1:0", logger: QUIET_LOGGER, requestTimeoutMs: 5_000, ...extra } as RemoteHostOptions,
  );
}
