/**
 * The public test kit: `createTestHost` for actor tests, `runProviderSuite`
 * for provider authors, a `ManualClock`, and `waitFor` for waiting on a
 * condition with a deadline instead of sleeping.
 *
 * @example Testing an actor
 * ```ts
 * import { createTestHost } from "./mod.ts";
 *
 * await using host = createTestHost();
 * host.registerActor("echo", () => ({ invoke: (_m: string, data: unknown) => data }));
 * await host.start();
 * console.log(await host.service.invoke("echo", "e1", "say", "hi")); // "hi"
 * ```
 *
 * @module
 */

export { createTestHost } from "./test_host.ts";
export { providerSuiteTestNames, runProviderSuite } from "./provider_suite.ts";
export type { ProviderSuiteOptions } from "./provider_suite.ts";
export { MANUAL_CLOCK_START_MS, ManualClock } from "./manual_clock.ts";
export { waitFor } from "./wait_for.ts";
