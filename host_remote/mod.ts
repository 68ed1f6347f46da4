/**
 * The worker host of the remote topology: `RemoteHost` joins a runtime
 * (`./runtime`), which owns placement, state and alarms, and runs actors
 * exactly as a `LocalHost` does.
 *
 * @example A worker pinned to the cluster CA
 * ```ts ignore
 * import { RemoteHost } from "./mod.ts";
 * const host = new RemoteHost({
 *   address: "127.0.0.1:0",
 *   runtimeAddresses: ["127.0.0.1:7400"],
 *   bootstrap: { psk: "worker-bootstrap-secret-123" },
 *   pinnedCa: await Deno.readTextFile("cluster-ca.pem"),
 * });
 * host.registerActor("counter", () => {
 *   let n = 0;
 *   return { invoke: () => ++n };
 * });
 * await host.start();
 * console.log(await host.service.invoke("counter", "c1", "increment"));
 * await host.stop();
 * ```
 *
 * @module
 */

export { RemoteHost } from "./host.ts";
export { REMOTE_HOST_DEFAULTS } from "./options.ts";
export type { HostBootstrap, RemoteHostOptions } from "./options.ts";
