/**
 * The embedded topology: `LocalHost` and its options.
 *
 * @example
 * ```ts
 * import { LocalHost } from "./mod.ts";
 * import { createMemoryProvider } from "../providers/memory/mod.ts";
 *
 * await using host = new LocalHost({
 *   address: "127.0.0.1:0",
 *   runtimePsks: ["an example pre-shared key, 32+ bytes long"],
 *   provider: createMemoryProvider(),
 * });
 * host.registerActor("echo", () => ({ invoke: (_m: string, data: unknown) => data }));
 * await host.start();
 * console.log(await host.service.invoke("echo", "e1", "say", "hi")); // "hi"
 * ```
 *
 * @module
 */

export { type HostState, LocalHost } from "./host.ts";
export { LOCAL_HOST_DEFAULTS, type LocalHostOptions } from "./options.ts";
