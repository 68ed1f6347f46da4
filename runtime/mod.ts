/**
 * The standalone runtime (control plane) of the worker topology (API.md §19):
 * stateless `RemoteHost` workers connect to it for state, alarms, placement
 * and certificates. Start it embedded with {@linkcode startRuntime}, or run
 * this package's `runtime/main.ts` as the CLI (`serve`, `healthcheck`,
 * `print-ca`, `version`).
 *
 * Importing this module loads no storage driver and no TLS code: the provider
 * named by `provider.connectionString` and `node:tls` load when the runtime starts.
 *
 * @example Configuration from a file, the environment and flags
 * ```ts ignore
 * import { loadRuntimeConfig, startRuntime } from "./mod.ts";
 *
 * const options = await loadRuntimeConfig({ args: Deno.args }); // flag > file > env > default
 * const runtime = await startRuntime(options);
 * Deno.addSignalListener("SIGTERM", () => runtime.stop());
 * await runtime.closed;
 * ```
 *
 * @example The CA that workers pin (`pinnedCa`)
 * ```ts
 * import { deriveClusterCaPem } from "./mod.ts";
 * const pem = await deriveClusterCaPem("an example runtime PSK, 32 bytes or more");
 * console.log(pem.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * ```
 *
 * @module
 */

export { startRuntime } from "./runtime.ts";
export { loadRuntimeConfig } from "./config.ts";
export { deriveClusterCaPem } from "../security/cluster_ca.ts";
export { RUNTIME_DEFAULTS } from "./options.ts";
export type { Runtime } from "./runtime.ts";
export type { LoadRuntimeConfigOptions } from "./config.ts";
export type { LogLevel, ProviderConnection, RuntimeBootstrap, RuntimeDefaults, RuntimeOptions } from "./options.ts";

// Run as the main module (`deno run -A jsr:@francis/core/runtime …`), this entry point is the CLI (API.md §19.3).
// The CLI is imported only then, so importing `./runtime` as a library loads none of it.
if (import.meta.main) {
  const [{ runCli }, { default: process }] = await Promise.all([import("./cli.ts"), import("node:process")]);
  process.exit(await runCli(process.argv.slice(2)));
}
