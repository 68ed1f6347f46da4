/**
 * Group commit for `dispatchJob`: dispatches queued within one macrotask (or
 * while the previous batch runs) become ONE statement, so a hundred
 * concurrent dispatches cost one round trip, one WAL flush and one NOTIFY.
 *
 * The statement repeats, per row, exactly what a single dispatch does:
 * 1. a live job of the actor holding the key → its ID, `created: false`;
 * 2. else a job ID used by a live job or a dead record → `ProviderError`;
 * 3. else insert with `ON CONFLICT … DO NOTHING` on the key index.
 * A row the insert skipped lost to a concurrent dispatch of another process:
 * its holder is read in a new statement (READ COMMITTED sees that commit),
 * and if the holder is gone already the row is tried again (four rounds).
 *
 * Two dispatches with one job ID or one `(type, id, key)` never share a batch
 * ({@linkcode Batcher} keys), so the first one wins as if sent alone. A batch
 * statement is atomic: if it fails on bad data (SQLSTATE class 22, 23 or 54)
 * each of its dispatches is sent alone, so only the bad one rejects;
 * any other failure rejects the batch and stores nothing.
 *
 * @module
 */

import { ProviderError } from "../../errors.ts";
import { show } from "../memory/_validate.ts";
import type { DispatchJobRequest } from "../types.ts";
import { Batcher, type Outcome } from "./batcher.ts";
import { byteaArray, hex, intArray, type PgContext, sqlFor, textArray } from "./context.ts";
import { sqlState } from "./driver.ts";
import { idInUse, JOB_COLUMNS, jobChannel } from "./job_rows.ts";

/** The result of `dispatchJob`. */
export interface DispatchResult {
  jobId: string;
  created: boolean;
}

const MAX_BATCH = 1000;
/** Payload bytes per batch (an item larger than this is sent alone). */
const MAX_BYTES = 4 << 20;
const ROUNDS = 4;

const INSERT = `WITH input AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::text[],
      $8::int8[], $9::text[], $10::int8[], $11::bytea[], $12::int4[])
    AS t(${JOB_COLUMNS}, ord)
), held AS (
  SELECT i.ord, j.job_id FROM input i JOIN {p}_jobs j
    ON j.actor_type = i.actor_type AND j.actor_id = i.actor_id AND j.idempotency_key = i.idempotency_key
  WHERE i.idempotency_key IS NOT NULL
), used AS (
  SELECT i.ord FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.ord = i.ord)
    AND (EXISTS (SELECT 1 FROM {p}_jobs j WHERE j.job_id = i.job_id)
      OR EXISTS (SELECT 1 FROM {p}_dead_jobs d WHERE d.job_id = i.job_id))
), ins AS (
  INSERT INTO {p}_jobs (${JOB_COLUMNS})
  SELECT ${JOB_COLUMNS} FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.ord = i.ord) AND NOT EXISTS (SELECT 1 FROM used u WHERE u.ord = i.ord)
  ORDER BY actor_type, actor_id, idempotency_key, job_id
  ON CONFLICT (actor_type, actor_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
  RETURNING job_id, due_time
), note AS (
  SELECT pg_notify($13, min(due_time)::text) FROM ins HAVING count(*) > 0
)
SELECT 'held' AS kind, ord, job_id FROM held
UNION ALL SELECT 'used', ord, NULL FROM used
UNION ALL SELECT 'ins', NULL, job_id FROM ins
UNION ALL SELECT 'note', NULL, NULL FROM note`;

const HOLDERS = `SELECT k.ord, j.job_id FROM unnest($1::text[], $2::text[], $3::text[], $4::int4[]) AS k(t, i, key, ord)
  JOIN {p}_jobs j ON j.actor_type = k.t AND j.actor_id = k.i AND j.idempotency_key = k.key`;

/** The `dispatchJob` group-commit queue of one provider instance. */
export class JobDispatcher {
  #ctx: PgContext;
  #insert: string;
  #holders: string;
  #batcher: Batcher<DispatchJobRequest, DispatchResult>;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    this.#insert = sqlFor(ctx, INSERT);
    this.#holders = sqlFor(ctx, HOLDERS);
    this.#batcher = new Batcher({
      run: (items) => this.#run(items),
      keys: (r) =>
        r.idempotencyKey === undefined
          ? [`j:${r.jobId}`]
          : [`j:${r.jobId}`, `k:${r.actorType}\u0000${r.actorId}\u0000${r.idempotencyKey}`],
      weight: (r) => r.data?.length ?? 0,
      maxBatch: MAX_BATCH,
      maxWeight: MAX_BYTES,
      maxInFlight: 1,
    });
  }

  /** Queues a validated dispatch (the request is copied now). */
  dispatch(req: DispatchJobRequest): Promise<DispatchResult> {
    const data = req.data === undefined || req.data.length === 0 ? undefined : req.data.slice();
    return this.#batcher.submit({ ...req, data });
  }

  /** Resolves once every queued dispatch ran. */
  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  async #run(items: readonly DispatchJobRequest[]): Promise<Outcome<DispatchResult>[]> {
    const out: Outcome<DispatchResult>[] = new Array(items.length);
    let pending = items.map((_, i) => i);
    for (let round = 0; round < ROUNDS && pending.length > 0; round++) {
      let lost: number[];
      try {
        lost = await this.#round(items, pending, out);
      } catch (err) {
        // Calls whose outcome this round already settled (their rows committed) keep it.
        const open = pending.filter((i) => out[i] === undefined);
        if (open.length > 1 && isDataError(err)) {
          // One bad row fails the whole statement, which wrote nothing: send each alone.
          await Promise.all(open.map(async (i) => (out[i] = (await this.#run([items[i]]))[0])));
        } else {
          const error = open.length === 1 && sqlState(err) === "23505"
            ? idInUse("dispatch job", items[open[0]].jobId)
            : err;
          for (const i of open) out[i] = { error };
        }
        return out;
      }
      pending = lost;
    }
    for (const i of pending) {
      const key = items[i].idempotencyKey;
      out[i] = { error: new ProviderError(`Cannot dispatch job: idempotency key ${show(key)} kept changing hands`) };
    }
    return out;
  }

  /** One round: inserts `pending`, fills `out`; returns the rows that lost a key race to a holder now gone. */
  async #round(items: readonly DispatchJobRequest[], pending: number[], out: Outcome<DispatchResult>[]) {
    const reqs = pending.map((i) => items[i]);
    const rows = await this.#send(reqs);
    const inserted = new Set<string>();
    for (const row of rows) {
      if (row.kind === "held") {
        out[pending[Number(row.ord)]] = { value: { jobId: row.job_id as string, created: false } };
      } else if (row.kind === "used") {
        const i = pending[Number(row.ord)];
        out[i] = { error: idInUse("dispatch job", items[i].jobId) };
      } else if (row.kind === "ins") inserted.add(row.job_id as string);
    }
    const lost: number[] = [];
    for (const i of pending) {
      if (out[i] !== undefined) continue;
      if (inserted.has(items[i].jobId)) out[i] = { value: { jobId: items[i].jobId, created: true } };
      else lost.push(i);
    }
    if (lost.length === 0) return lost;
    // Lost to a concurrent dispatch: read the winners in a new statement (it sees their commits).
    const holders = await this.#ctx.db.query(this.#holders, [
      textArray(lost.map((i) => items[i].actorType)),
      textArray(lost.map((i) => items[i].actorId)),
      textArray(lost.map((i) => items[i].idempotencyKey ?? null)),
      intArray(lost.map((_, k) => k)),
    ]);
    for (const h of holders) out[lost[Number(h.ord)]] = { value: { jobId: h.job_id as string, created: false } };
    return lost.filter((i) => out[i] === undefined);
  }

  /** Sends one batch statement, again after a deadlock (it is its own transaction). */
  async #send(reqs: readonly DispatchJobRequest[]) {
    const params = [
      textArray(reqs.map((r) => r.jobId)),
      textArray(reqs.map((r) => r.actorType)),
      textArray(reqs.map((r) => r.actorId)),
      textArray(reqs.map((r) => r.method)),
      intArray(reqs.map((r) => r.dueTime)),
      textArray(reqs.map((r) => r.interval ?? null)),
      textArray(reqs.map((r) => r.cron ?? null)),
      intArray(reqs.map((r) => r.ttl ?? null)),
      textArray(reqs.map((r) => r.idempotencyKey ?? null)),
      intArray(reqs.map((r) => r.createdAt)),
      byteaArray(reqs.map((r) => (r.data === undefined ? null : hex(r.data)))),
      intArray(reqs.map((_, i) => i)),
      jobChannel(this.#ctx.prefix),
    ];
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#ctx.db.query(this.#insert, params);
      } catch (err) {
        if (attempt >= 4 || sqlState(err) !== "40P01") throw err;
      }
    }
  }
}

/** Whether a statement failed on its data (so sending rows one by one isolates the bad one). */
function isDataError(err: unknown): boolean {
  const state = sqlState(err);
  return state !== undefined && ["22", "23", "54"].includes(state.slice(0, 2));
}
