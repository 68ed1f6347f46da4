/**
 * One runtime process per SQLite store (API.md §19.1: "SQLite and memory
 * allow exactly one replica").
 *
 * A runtime on a SQLite file holds an exclusive advisory lock
 * (`Deno.FsFile.tryLock`, `flock` on Unix) on a sidecar file
 * `<database>.runtime.lock` for as long as it runs. A second runtime on the
 * same file, in another process or the same one, finds the lock taken and
 * refuses to start. The kernel drops the lock when its holder exits, however
 * it exits (SIGKILL included), so a crashed runtime never blocks its
 * successor. The sidecar file is left in place: deleting a lock file invites
 * two processes to lock two different files of the same name.
 *
 * Memory stores are per process already; `:memory:` SQLite too. Outside Deno
 * (no `Deno.FsFile.tryLock`) nothing is locked.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { ProviderError } from "../errors.ts";
import { errorMessage } from "../_internal/logger.ts";

/** A held store lock. */
export interface ReplicaLock {
  /** The sidecar file holding the lock. */
  readonly path: string;
  /** Releases the lock (idempotent). */
  release(): Promise<void>;
}

/** The sidecar lock file of a SQLite database path. */
export function replicaLockPath(database: string | URL): string {
  return `${database instanceof URL ? fileURLToPath(database) : database}.runtime.lock`;
}

/**
 * Takes the store lock of a SQLite database, or throws a `ProviderError`
 * naming the database, the lock file and (when it wrote it) the holder's
 * process ID. Resolves `undefined` when there is nothing to lock
 * (`:memory:`, or not running on Deno).
 *
 * @example
 * ```ts
 * import { lockSqliteStore } from "./_replica_lock.ts";
 * const dir = await Deno.makeTempDir();
 * const lock = await lockSqliteStore(`${dir}/francis.db`);
 * await lockSqliteStore(`${dir}/francis.db`).catch((err) => console.log(err.code)); // provider_error
 * await lock?.release();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function lockSqliteStore(database: string | URL): Promise<ReplicaLock | undefined> {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (database === ":memory:" || typeof deno?.FsFile?.prototype?.tryLock !== "function") return undefined;
  const path = replicaLockPath(database);
  const shown = database instanceof URL ? database.href : database;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (err) {
    throw new ProviderError(`Cannot start runtime: cannot open the store lock file ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  let locked = false;
  try {
    locked = await file.tryLock(true);
    if (!locked) {
      const holder = await readHolder(path);
      throw new ProviderError(
        `Cannot start runtime: another runtime process${holder} is using the SQLite store ${shown} ` +
          `(it holds the lock on ${path}); SQLite allows exactly one runtime replica, use PostgreSQL for several`,
      );
    }
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (err) {
    if (locked) await file.unlock().catch(() => {});
    file.close();
    throw err;
  }
  let released = false;
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      await file.unlock().catch(() => {});
      file.close();
    },
  };
}

/** `" (pid N)"` from the lock file, or `""`. */
async function readHolder(path: string): Promise<string> {
  try {
    const pid = (await Deno.readTextFile(path)).trim();
    return /^\d+$/.test(pid) ? ` (pid ${pid})` : "";
  } catch {
    return "";
  }
}
