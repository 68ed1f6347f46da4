/**
 * `createTestHost`: a `LocalHost` with test-friendly defaults (API.md §23).
 *
 * @module
 */

import { LocalHost } from "../host_local/host.ts";
import type { LocalHostOptions } from "../host_local/options.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { generatePsk } from "../_internal/psk.ts";

/** One PSK shared by every test host of this process, so they can form a cluster. */
const TEST_PSK = generatePsk();

/**
 * Creates a `LocalHost` that is not started yet, with `address
 * "127.0.0.1:0"`, a fresh memory provider (pass the same `provider` to several
 * test hosts to share a store), a process-wide PSK, `alarmsPollIntervalMs:
 * 250` and `shutdownGracePeriodMs: 5000`. Anything in `options` wins.
 *
 * @example
 * ```ts
 * import { createTestHost } from "./test_host.ts";
 * await using host = createTestHost();
 * host.registerActor("echo", () => ({ invoke: (_m: string, d: unknown) => d }));
 * await host.start();
 * console.log(await host.service.invoke("echo", "a", "m", 42)); // 42
 * ```
 */
export function createTestHost(options?: Partial<LocalHostOptions>): LocalHost {
  return new LocalHost({
    address: "127.0.0.1:0",
    runtimePsks: [TEST_PSK],
    provider: options?.provider ?? createMemoryProvider(),
    alarmsPollIntervalMs: 250,
    shutdownGracePeriodMs: 5_000,
    ...options,
  });
}
