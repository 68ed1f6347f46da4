/**
 * The in-memory actor provider: the reference implementation of
 * `ActorProvider`. State, alarms and placements live in this process only,
 * so it suits tests, examples and single-process apps.
 *
 * @example Share one provider between hosts of one process
 * ```ts
 * import { createMemoryProvider } from "./mod.ts";
 *
 * const provider = createMemoryProvider({ cleanupIntervalMs: 60_000 });
 * await provider.acquire();
 * const { hostId } = await provider.registerHost({
 *   address: "127.0.0.1:7000",
 *   actorTypes: [{ actorType: "counter", idleTimeoutMs: 300_000, concurrencyLimit: 0 }],
 *   healthCheckDeadlineMs: 20_000,
 * });
 * const placement = await provider.lookupActor({
 *   actorType: "counter",
 *   actorId: "c1",
 *   activeOnly: false,
 *   healthCheckDeadlineMs: 20_000,
 * });
 * console.log(placement.hostId === hostId); // true
 * await provider.release();
 * ```
 *
 * @module
 */

export { createMemoryProvider } from "./provider.ts";
export { MEMORY_PROVIDER_DEFAULTS, resolveMemoryProviderOptions } from "./options.ts";
export type { MemoryProviderOptions, ResolvedMemoryProviderOptions } from "./options.ts";
