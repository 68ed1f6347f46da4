/**
 * `onAlarmSet` of the PostgreSQL provider: LISTEN on `<prefix>_alarm_set`.
 *
 * `setAlarm` sends `pg_notify` in its own statement, so the server delivers
 * the due time only after the write committed, to every listening process.
 * One dedicated connection listens while at least one subscriber exists and
 * the provider is acquired; the last unsubscribe (or the final `release`)
 * closes it. If the connection drops, it is reopened after a short delay.
 * Notifications are a latency hint only: a missed one costs a poll interval.
 *
 * @module
 */

import type { PgClient, PgSession } from "./driver.ts";

/** Delay before reopening a dropped LISTEN connection. */
const REOPEN_DELAY_MS = 1000;

/** Subscribers and the LISTEN connection of one provider instance. */
export class AlarmNotifier {
  #channel: string;
  #listeners = new Set<(dueTime: number) => void>();
  #db: PgClient | undefined;
  #session: PgSession | undefined;
  #opening: Promise<void> | undefined;
  #reopenTimer: ReturnType<typeof setTimeout> | undefined;

  /** @param channel The NOTIFY channel (a validated identifier). */
  constructor(channel: string) {
    this.#channel = channel;
  }

  /** Adds a listener; returns its unsubscribe function. */
  subscribe(listener: (dueTime: number) => void): () => void {
    if (typeof listener !== "function") {
      throw new TypeError("Cannot subscribe to alarm notifications: listener must be a function");
    }
    const entry = (dueTime: number): void => listener(dueTime);
    this.#listeners.add(entry);
    this.#sync();
    return () => {
      if (!this.#listeners.delete(entry)) return;
      this.#sync();
    };
  }

  /** The pool to open the LISTEN connection from, or `undefined` when not acquired. */
  async setClient(db: PgClient | undefined): Promise<void> {
    this.#db = db;
    this.#sync();
    await this.#opening;
    if (db === undefined) await this.#close();
  }

  /** Opens or closes the connection to match "acquired and subscribed". */
  #sync(): void {
    const wanted = this.#db !== undefined && this.#listeners.size > 0;
    if (wanted && this.#session === undefined && this.#opening === undefined) {
      this.#opening = this.#open().finally(() => (this.#opening = undefined));
    } else if (!wanted) {
      this.#close().catch(() => {});
    }
  }

  async #open(): Promise<void> {
    const db = this.#db!;
    let session: PgSession | undefined;
    try {
      session = await db.openSession({
        applicationName: `francis:${this.#channel}`,
        onNotify: (channel, payload) => {
          if (channel !== this.#channel) return;
          const dueTime = Number(payload);
          if (!Number.isFinite(dueTime)) return;
          for (const listener of [...this.#listeners]) {
            try {
              listener(dueTime);
            } catch {
              // A listener's failure is its own.
            }
          }
        },
        onClose: () => {
          if (this.#session !== session) return;
          this.#session = undefined;
          this.#scheduleReopen();
        },
      });
      await session.exec(`LISTEN "${this.#channel}"`);
    } catch {
      await session?.end().catch(() => {});
      this.#scheduleReopen();
      return;
    }
    if (this.#db !== db || this.#listeners.size === 0) {
      await session.end().catch(() => {});
      return;
    }
    this.#session = session;
  }

  #scheduleReopen(): void {
    if (this.#reopenTimer !== undefined || this.#db === undefined || this.#listeners.size === 0) return;
    this.#reopenTimer = setTimeout(() => {
      this.#reopenTimer = undefined;
      this.#sync();
    }, REOPEN_DELAY_MS);
  }

  async #close(): Promise<void> {
    clearTimeout(this.#reopenTimer);
    this.#reopenTimer = undefined;
    const session = this.#session;
    this.#session = undefined;
    await session?.end().catch(() => {});
  }
}
