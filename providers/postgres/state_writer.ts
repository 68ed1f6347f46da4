/**
 * Group commit for `setState`: every write queued within one macrotask (up to
 * 1,000, one per actor) becomes ONE statement that upserts all rows through
 * `unnest`, so a thousand concurrent writers cost one round trip and one
 * WAL flush instead of a thousand.
 *
 * Each caller's outcome stays its own:
 * - a fenced row is written only if the actor's placement row names the
 *   fencing host; the statement locks that placement row `FOR SHARE`, so a
 *   concurrent move waits for the commit and the check cannot go stale before
 *   it. Rows that fail the check are skipped and only their callers reject,
 *   with `PlacementLostError`;
 * - every promise settles after the statement (its own transaction) committed;
 *   a failed statement writes nothing and rejects every caller of the batch;
 * - two writes of one actor never share a batch: the later one waits for the
 *   next, so writes of one actor apply in call order.
 *
 * One batch is in flight at a time; writes arriving meanwhile form the next.
 *
 * @module
 */

import { PlacementLostError } from "../../errors.ts";
import { show } from "../memory/_validate.ts";
import { byteaArray, intArray, nextMacrotask, type PgContext, sqlFor, textArray } from "./context.ts";
import { sqlState } from "./driver.ts";

/** Largest number of writes per statement. */
const MAX_BATCH = 1000;

/** One queued `setState`, already validated and copied. */
export interface StateWrite {
  actorType: string;
  actorId: string;
  /** UTF-16BE sort key, hex. */
  keyHex: string;
  /** The value, hex (a copy taken at call time). */
  dataHex: string;
  ttlMs: number | undefined;
  fenceHostId: string | undefined;
}

interface Pending extends StateWrite {
  key: string;
  resolve(): void;
  reject(err: unknown): void;
}

const UPSERT = `WITH input AS (
  SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::bytea[], $5::int8[], $6::text[], $7::int4[])
    AS t(actor_type, actor_key, actor_id, data, expiration, fence, ord)
), fenced AS (
  SELECT i.ord FROM input i JOIN {p}_active_actors a
    ON a.actor_type = i.actor_type AND a.actor_id = i.actor_id AND a.host_id = i.fence
  FOR SHARE OF a
), ok AS (
  SELECT * FROM input WHERE fence IS NULL OR ord IN (SELECT ord FROM fenced)
), written AS (
  INSERT INTO {p}_state (actor_type, actor_key, actor_id, data, expiration)
  SELECT actor_type, actor_key, actor_id, data, expiration FROM ok ORDER BY actor_type, actor_key
  ON CONFLICT (actor_type, actor_key) DO UPDATE SET data = excluded.data, expiration = excluded.expiration
)
SELECT ord FROM ok`;

/** Counters, for tests and benchmarks. */
export interface StateWriterStats {
  /** Statements sent. */
  batches: number;
  /** Writes carried by them. */
  writes: number;
}

/** The `setState` group-commit queue of one provider instance. */
export class StateWriter {
  #ctx: PgContext;
  #sql: string;
  #queue: Pending[] = [];
  #inFlight = new Set<string>();
  #draining: Promise<void> | undefined;
  #scheduled = false;
  #stats: StateWriterStats = { batches: 0, writes: 0 };

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    this.#sql = sqlFor(ctx, UPSERT);
  }

  /** Counters since creation. */
  get stats(): Readonly<StateWriterStats> {
    return { ...this.#stats };
  }

  /** Queues a write; settles once its batch committed (or failed). */
  write(w: StateWrite): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#queue.push({ ...w, key: `${w.actorType}\u0000${w.actorId}`, resolve, reject });
    if (this.#draining === undefined && !this.#scheduled) {
      this.#scheduled = true;
      nextMacrotask(() => {
        this.#scheduled = false;
        this.#startDrain();
      });
    }
    return promise;
  }

  /** Resolves once no write of this actor is queued or in flight (so a delete applies after them). */
  async settled(actorType: string, actorId: string): Promise<void> {
    const key = `${actorType}\u0000${actorId}`;
    while (this.#inFlight.has(key) || this.#queue.some((p) => p.key === key)) {
      if (this.#draining === undefined) this.#startDrain();
      await this.#draining;
    }
  }

  /** Writes everything queued. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#draining !== undefined) {
      if (this.#draining === undefined) this.#startDrain();
      await this.#draining;
    }
  }

  #startDrain(): void {
    if (this.#draining !== undefined || this.#queue.length === 0) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      if (this.#queue.length > 0) this.#startDrain();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch: Pending[] = [];
      const rest: Pending[] = [];
      for (const p of this.#queue) {
        if (batch.length < MAX_BATCH && !this.#inFlight.has(p.key)) {
          this.#inFlight.add(p.key);
          batch.push(p);
        } else {
          rest.push(p);
        }
      }
      this.#queue = rest;
      try {
        await this.#run(batch);
      } finally {
        for (const p of batch) this.#inFlight.delete(p.key);
      }
    }
  }

  async #run(batch: Pending[]): Promise<void> {
    this.#stats.batches++;
    this.#stats.writes += batch.length;
    let written: Set<number>;
    try {
      written = await this.#send(batch);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    for (const [i, p] of batch.entries()) {
      if (written.has(i)) p.resolve();
      else {
        p.reject(
          new PlacementLostError(
            `Cannot set state: actor ${show(`${p.actorType}/${p.actorId}`)} is no longer placed on host ${
              show(p.fenceHostId)
            }`,
          ),
        );
      }
    }
  }

  /** Sends one batch, re-sending it after a deadlock (the statement is its own transaction). */
  async #send(batch: Pending[]): Promise<Set<number>> {
    for (let attempt = 1;; attempt++) {
      const now = this.#ctx.clock.now();
      try {
        const rows = await this.#ctx.db.query(this.#sql, [
          textArray(batch.map((p) => p.actorType)),
          byteaArray(batch.map((p) => p.keyHex)),
          textArray(batch.map((p) => p.actorId)),
          byteaArray(batch.map((p) => p.dataHex)),
          intArray(batch.map((p) => (p.ttlMs === undefined ? null : now + p.ttlMs))),
          textArray(batch.map((p) => p.fenceHostId ?? null)),
          intArray(batch.map((_, i) => i)),
        ]);
        return new Set(rows.map((r) => Number(r.ord)));
      } catch (err) {
        if (attempt >= 4 || sqlState(err) !== "40P01") throw err;
      }
    }
  }
}
