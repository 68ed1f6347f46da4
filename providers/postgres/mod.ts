/**
 * The PostgreSQL actor provider, on postgres.js (`npm:postgres`). Many host
 * processes on many machines share one database; the driver loads only when
 * the provider is first acquired (importing this module loads types only).
 *
 * What it adds over SQLite:
 * - **single activation across processes**: placement transactions lock the
 *   host-type rows of the actor's type, and new actors go to the
 *   **least-loaded** eligible host;
 * - **liveness sessions**: each registered host holds a PostgreSQL advisory
 *   lock on a connection of its own, so `evictHost` from a peer removes a host
 *   only once its process (and so its session) is really gone;
 * - **fencing**: `setState` / `deleteState` with `fenceHostId` lock the
 *   placement row they check, so a write never lands after the actor moved;
 * - **alarm notifications**: `onAlarmSet` uses LISTEN/NOTIFY;
 * - **group commit**: concurrent `setState` calls share one multi-row statement.
 *
 * Schema changes are numbered migrations in `<prefix>_migrations`, applied
 * under `pg_advisory_xact_lock` at the first `acquire`.
 *
 * ```ts ignore
 * import { createPostgresProvider } from "@francis/core/providers/postgres";
 *
 * const provider = createPostgresProvider({ url: "postgres://francis:secret@db:5432/francis" });
 * await provider.acquire();
 * await provider.setState({ actorType: "counter", actorId: "c1", data: new Uint8Array([1]) });
 * console.log(await provider.getState("counter", "c1")); // Uint8Array(1) [ 1 ]
 * await provider.release();
 * ```
 *
 * @module
 */

import type { ActorProvider } from "../types.ts";
import { type PostgresProviderOptions, resolvePostgresProviderOptions } from "./options.ts";
import { PostgresProvider } from "./provider.ts";

export {
  type OperationLogOptions,
  POSTGRES_PROVIDER_DEFAULTS,
  type PostgresProviderOptions,
  type QueryLogOptions,
  type ResolvedPostgresProviderOptions,
  resolvePostgresProviderOptions,
} from "./options.ts";

/**
 * Creates a PostgreSQL provider. Options are validated now; nothing connects
 * until the first `acquire()`, which opens the pool (with `url`) and migrates.
 *
 * @param options Exactly one of `url` and `sql`, plus tuning; see {@linkcode PostgresProviderOptions}.
 * @returns An `ActorProvider` named `"postgres"`.
 * @throws {TypeError} On a malformed option, or unless exactly one of `url` and `sql` is given.
 * @throws {RangeError} On a number out of range.
 *
 * @example Two hosts of one cluster, each in its own process
 * ```ts ignore
 * import { createPostgresProvider } from "@francis/core/providers/postgres";
 *
 * const provider = createPostgresProvider({
 *   url: Deno.env.get("DATABASE_URL")!,
 *   queryTimeoutMs: 5_000,
 *   tablePrefix: "francis",
 * });
 * await provider.acquire();
 * const { hostId } = await provider.registerHost({
 *   address: "10.0.0.1:7000",
 *   actorTypes: [{ actorType: "counter", idleTimeoutMs: 300_000, concurrencyLimit: 0 }],
 *   healthCheckDeadlineMs: 20_000,
 * });
 * const stop = provider.onAlarmSet?.((dueTime) => console.log("alarm due at", new Date(dueTime)));
 * const placement = await provider.lookupActor({
 *   actorType: "counter",
 *   actorId: "c1",
 *   activeOnly: false,
 *   healthCheckDeadlineMs: 20_000,
 * });
 * console.log(placement.hostId === hostId);
 * stop?.();
 * await provider.unregisterHost(hostId);
 * await provider.release();
 * ```
 *
 * @example Validation happens at once, without a server
 * ```ts
 * import { createPostgresProvider } from "./mod.ts";
 *
 * try {
 *   createPostgresProvider({ url: "postgres://localhost/app", tablePrefix: "Bad-Prefix" });
 * } catch (err) {
 *   console.log((err as Error).message.startsWith("Cannot create PostgreSQL provider: tablePrefix")); // true
 * }
 * ```
 */
export function createPostgresProvider(options: PostgresProviderOptions): ActorProvider {
  return new PostgresProvider(resolvePostgresProviderOptions(options));
}
