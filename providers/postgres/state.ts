/**
 * Actor state of the PostgreSQL provider.
 *
 * A row is visible while `expiration IS NULL OR expiration > now`; expired
 * rows are purged by cleanup. Rows are keyed by `actor_key`, the UTF-16BE
 * bytes of the actor ID, so that `listStates` pages in UTF-16 code-unit order.
 * Writes go through the {@linkcode StateWriter} group commit; reads and
 * deletes are single statements.
 *
 * @module
 */

import { PlacementLostError, StateNotFoundError } from "../../errors.ts";
import { checkBytes, checkInteger, checkString, show } from "../memory/_validate.ts";
import type { DeleteStateOptions, ListStatesRequest, SetStateRequest, StatePage } from "../types.ts";
import { copyBytes, hex, type PgContext, sqlFor, utf16Key, utf16KeyHex } from "./context.ts";
import { StateWriter } from "./state_writer.ts";

/** The largest page `listStates` returns. */
const MAX_PAGE = 1000;

const LIVE = "(expiration IS NULL OR expiration > $3)";

/** State statements of one provider instance. */
export class StateStore {
  #ctx: PgContext;
  #writer: StateWriter;
  #get: string;
  #delete: string;
  #list: Record<"ids" | "data", string>;

  constructor(ctx: PgContext) {
    this.#ctx = ctx;
    this.#writer = new StateWriter(ctx);
    this.#get = sqlFor(ctx, `SELECT data FROM {p}_state WHERE actor_type = $1 AND actor_key = $2 AND ${LIVE}`);
    // The fence check locks the placement row (FOR SHARE) so a move waits for this delete to commit.
    this.#delete = sqlFor(
      ctx,
      `WITH fence AS (
         SELECT 1 FROM {p}_active_actors WHERE actor_type = $1 AND actor_id = $4 AND host_id = $5 FOR SHARE
       ), allowed AS (
         SELECT $5::text IS NULL OR EXISTS (SELECT 1 FROM fence) AS ok
       ), deleted AS (
         DELETE FROM {p}_state WHERE actor_type = $1 AND actor_key = $2 AND ${LIVE}
           AND (SELECT ok FROM allowed) RETURNING 1
       )
       SELECT (SELECT ok FROM allowed) AS fenced, (SELECT count(*) FROM deleted) AS deleted`,
    );
    const list = (columns: string): string =>
      sqlFor(
        ctx,
        `SELECT ${columns} FROM {p}_state WHERE actor_type = $1 AND ($2::bytea IS NULL OR actor_key > $2) AND ${LIVE}
         ORDER BY actor_key LIMIT $4`,
      );
    this.#list = { ids: list("actor_id"), data: list("actor_id, data") };
  }

  /** Group-commit counters. */
  get writeStats(): { batches: number; writes: number } {
    return this.#writer.stats;
  }

  /** The live value; `StateNotFoundError` otherwise. */
  async get(actorType: string, actorId: string): Promise<Uint8Array> {
    checkString("get state", "actorType", actorType);
    checkString("get state", "actorId", actorId);
    const rows = await this.#ctx.db.query(this.#get, [actorType, utf16Key(actorId), this.#ctx.clock.now()]);
    if (rows.length === 0) throw notFound("get", actorType, actorId);
    return copyBytes(rows[0].data);
  }

  /** Creates or replaces a value and its expiry (group-committed). */
  set(req: SetStateRequest): Promise<void> {
    const action = "set state";
    checkString(action, "actorType", req.actorType);
    checkString(action, "actorId", req.actorId);
    checkBytes(action, "data", req.data);
    if (req.ttlMs !== undefined) checkInteger(action, "ttlMs", req.ttlMs, 1);
    if (req.fenceHostId !== undefined) checkString(action, "fenceHostId", req.fenceHostId);
    return this.#writer.write({
      actorType: req.actorType,
      actorId: req.actorId,
      keyHex: utf16KeyHex(req.actorId),
      dataHex: hex(req.data),
      ttlMs: req.ttlMs,
      fenceHostId: req.fenceHostId,
    });
  }

  /** Deletes a live value, after any queued write of the same actor. */
  async delete(actorType: string, actorId: string, options?: DeleteStateOptions): Promise<void> {
    checkString("delete state", "actorType", actorType);
    checkString("delete state", "actorId", actorId);
    const fenceHostId = options?.fenceHostId;
    if (fenceHostId !== undefined) checkString("delete state", "fenceHostId", fenceHostId);
    await this.#writer.settled(actorType, actorId);
    const [row] = await this.#ctx.db.query(this.#delete, [
      actorType,
      utf16Key(actorId),
      this.#ctx.clock.now(),
      actorId,
      fenceHostId ?? null,
    ]);
    if (row.fenced !== true) {
      throw new PlacementLostError(
        `Cannot delete state: actor ${show(`${actorType}/${actorId}`)} is no longer placed on host ${
          show(fenceHostId)
        }`,
      );
    }
    if (Number(row.deleted) === 0) throw notFound("delete", actorType, actorId);
  }

  /** One page of live entries, ascending by actor ID in UTF-16 code-unit order. */
  async list(req: ListStatesRequest): Promise<StatePage> {
    checkString("list states", "actorType", req.actorType);
    checkInteger("list states", "limit", req.limit, 1, MAX_PAGE);
    if (req.after !== undefined) checkString("list states", "after", req.after);
    const rows = await this.#ctx.db.query(req.includeData ? this.#list.data : this.#list.ids, [
      req.actorType,
      req.after === undefined ? null : utf16Key(req.after),
      this.#ctx.clock.now(),
      req.limit + 1,
    ]);
    const hasMore = rows.length > req.limit;
    const page = hasMore ? rows.slice(0, req.limit) : rows;
    const entries = page.map((row) =>
      req.includeData
        ? { actorId: row.actor_id as string, data: copyBytes(row.data) }
        : { actorId: row.actor_id as string }
    );
    return { entries, hasMore };
  }

  /** Writes everything queued (before the pool closes). */
  flush(): Promise<void> {
    return this.#writer.flush();
  }
}

function notFound(action: string, actorType: string, actorId: string): StateNotFoundError {
  return new StateNotFoundError(`Cannot ${action} state: state of ${show(`${actorType}/${actorId}`)} not found`);
}
