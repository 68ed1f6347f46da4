/**
 * Host liveness sessions: evidence in the database that a host's process is alive.
 *
 * `registerHost` opens one dedicated connection per host and takes the
 * session-level `pg_advisory_lock` on a key derived from the table prefix and
 * the host ID; the lock lives exactly as long as that connection. When the
 * process dies (SIGKILL, crash, lost network), the server ends the session and
 * the lock is gone, and only then can `evictHost` from another process take
 * the same key with `pg_try_advisory_xact_lock` and remove the host.
 *
 * The session is a dedicated postgres.js client with one connection rather
 * than `sql.reserve()`: a reserved pool connection is still subject to the
 * pool's `max_lifetime` recycling (which would drop the lock every 30–60
 * minutes) and reconnects silently, while here a closed connection is seen
 * (`onClose`) and the lock is re-taken explicitly by {@linkcode HostSession.ensure}.
 * Server-side TCP keepalives are tightened on it so that a vanished machine
 * loses its lock within about 25 s.
 *
 * @module
 */

import { HostAlreadyRegisteredError } from "../../errors.ts";
import type { PgClient, PgSession } from "./driver.ts";

/** The text whose `hashtextextended` is the advisory-lock key of a host. */
export function hostLockKey(prefix: string, hostId: string): string {
  return `francis:${prefix}:host:${hostId}`;
}

/** One host's liveness session, owned by the provider instance that registered the host. */
export class HostSession {
  #db: PgClient;
  #prefix: string;
  #hostId: string;
  #session: PgSession;
  #pid: number;
  #closed = false;

  private constructor(db: PgClient, prefix: string, hostId: string, session: PgSession, pid: number) {
    this.#db = db;
    this.#prefix = prefix;
    this.#hostId = hostId;
    this.#session = session;
    this.#pid = pid;
  }

  /**
   * Opens a session and takes the host's lock without waiting.
   *
   * @throws {HostAlreadyRegisteredError} When a live session already holds the lock (the ID is in use).
   */
  static async open(db: PgClient, prefix: string, hostId: string): Promise<HostSession> {
    const { session, pid, locked } = await HostSession.#connect(db, prefix, hostId, false);
    if (!locked) {
      await session.end();
      throw new HostAlreadyRegisteredError(
        `Cannot register host: host ID "${hostId}" is in use by a live database session`,
      );
    }
    return new HostSession(db, prefix, hostId, session, pid);
  }

  /** The server process ID of the session (for diagnostics and tests). */
  get pid(): number {
    return this.#pid;
  }

  /**
   * Checks that the session still holds the lock; if the connection closed or
   * the probe fails, opens a new one and takes the lock again, waiting up to
   * the statement timeout (an evicting transaction holds it briefly).
   */
  async ensure(): Promise<void> {
    if (this.#closed) return;
    if (!this.#session.closed) {
      try {
        const [row] = await this.#session.query("SELECT pg_backend_pid() AS pid");
        if (Number(row.pid) === this.#pid) return;
      } catch {
        // Fall through: re-establish.
      }
    }
    await this.#session.end().catch(() => {});
    const { session, pid } = await HostSession.#connect(this.#db, this.#prefix, this.#hostId, true);
    if (this.#closed) {
      await session.end();
      return;
    }
    this.#session = session;
    this.#pid = pid;
  }

  /** Closes the session, which releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#session.end().catch(() => {});
  }

  static async #connect(
    db: PgClient,
    prefix: string,
    hostId: string,
    wait: boolean,
  ): Promise<{ session: PgSession; pid: number; locked: boolean }> {
    const session = await db.openSession({ applicationName: `francis:${prefix}:${hostId}` });
    try {
      const [row] = await session.query(
        wait
          ? "SELECT true AS locked, pg_backend_pid() AS pid FROM (SELECT pg_advisory_lock(hashtextextended($1, 0))) l"
          : "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked, pg_backend_pid() AS pid",
        [hostLockKey(prefix, hostId)],
      );
      return { session, pid: Number(row.pid), locked: wait ? true : row.locked === true };
    } catch (err) {
      await session.end().catch(() => {});
      throw err;
    }
  }
}
