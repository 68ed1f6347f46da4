/**
 * Actor state of the SQLite provider.
 *
 * A row is visible while `expiration IS NULL OR expiration > now`; expired rows
 * are purged by cleanup. Rows are keyed by `actor_key`, the UTF-16BE bytes of
 * the actor ID, so that `listStates` pages in UTF-16 code-unit order.
 *
 * @module
 */

import { PlacementLostError, StateNotFoundError } from "../../errors.ts";
import type { DeleteStateOptions, ListStatesRequest, SetStateRequest, StatePage } from "../types.ts";
import type { Row, StatementSync } from "./driver.ts";
import { checkBytes, checkInteger, checkString, copyBytes, prepare, type SqliteContext, utf16Key } from "./context.ts";

/** The largest page `listStates` returns. */
const MAX_PAGE = 1000;

/** State statements of one connection. */
export class StateStore {
  #ctx: SqliteContext;
  #get: StatementSync;
  #set: StatementSync;
  #delete: StatementSync;
  #placedOn: StatementSync;
  #list: Record<"ids" | "data" | "idsAfter" | "dataAfter", StatementSync>;

  /** Prepares the statements. */
  constructor(ctx: SqliteContext) {
    this.#ctx = ctx;
    const live = "(expiration IS NULL OR expiration > ?)";
    this.#get = prepare(ctx, `SELECT data FROM {p}_state WHERE actor_type = ? AND actor_key = ? AND ${live}`);
    this.#set = prepare(
      ctx,
      `INSERT INTO {p}_state (actor_type, actor_key, actor_id, data, expiration) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (actor_type, actor_key) DO UPDATE SET data = excluded.data, expiration = excluded.expiration`,
    );
    this.#delete = prepare(ctx, `DELETE FROM {p}_state WHERE actor_type = ? AND actor_key = ? AND ${live}`);
    this.#placedOn = prepare(ctx, "SELECT host_id FROM {p}_active_actors WHERE actor_type = ? AND actor_id = ?");
    const list = (columns: string, after: boolean): StatementSync =>
      prepare(
        ctx,
        `SELECT ${columns} FROM {p}_state WHERE actor_type = ? ${after ? "AND actor_key > ?" : ""} AND ${live}
         ORDER BY actor_key LIMIT ?`,
      );
    this.#list = {
      ids: list("actor_id", false),
      data: list("actor_id, data", false),
      idsAfter: list("actor_id", true),
      dataAfter: list("actor_id, data", true),
    };
  }

  /** The live value; `StateNotFoundError` otherwise. */
  get(actorType: string, actorId: string): Uint8Array {
    const row = this.#get.get(actorType, utf16Key(actorId), this.#ctx.clock.now()) as Row | undefined;
    if (row === undefined) throw notFound("get", actorType, actorId);
    return copyBytes(row.data);
  }

  /** Creates or replaces a value and its expiry. */
  set(req: SetStateRequest): Promise<void> {
    checkBytes("set state", "data", req.data);
    if (req.ttlMs !== undefined) checkInteger("set state", "ttlMs", req.ttlMs, { min: 1 });
    if (req.fenceHostId !== undefined) checkString("set state", "fenceHostId", req.fenceHostId);
    const key = utf16Key(req.actorId);
    // Copied now: the write runs on the next macrotask, and the caller may reuse its buffer.
    const data = req.data.slice();
    const { actorType, actorId, ttlMs, fenceHostId } = req;
    return this.#ctx.queue.enqueue(() => {
      this.#checkFence("set", actorType, actorId, fenceHostId);
      const expiration = ttlMs === undefined ? null : this.#ctx.clock.now() + ttlMs;
      this.#set.run(actorType, key, actorId, data, expiration);
    });
  }

  /** Deletes a live value; `StateNotFoundError` otherwise. */
  delete(actorType: string, actorId: string, options?: DeleteStateOptions): Promise<void> {
    const fenceHostId = options?.fenceHostId;
    if (fenceHostId !== undefined) checkString("delete state", "fenceHostId", fenceHostId);
    const key = utf16Key(actorId);
    return this.#ctx.queue.enqueue(() => {
      this.#checkFence("delete", actorType, actorId, fenceHostId);
      const { changes } = this.#delete.run(actorType, key, this.#ctx.clock.now());
      if (changes === 0) throw notFound("delete", actorType, actorId);
    });
  }

  /** Inside the write transaction: the actor must still be placed on `fenceHostId`. */
  #checkFence(action: string, actorType: string, actorId: string, fenceHostId: string | undefined): void {
    if (fenceHostId === undefined) return;
    const row = this.#placedOn.get(actorType, actorId) as Row | undefined;
    if (row?.host_id !== fenceHostId) {
      throw new PlacementLostError(
        `Cannot ${action} state: actor "${actorType}/${actorId}" is no longer placed on host "${fenceHostId}"`,
      );
    }
  }

  /** One page of live entries, ascending by actor ID. */
  list(req: ListStatesRequest): StatePage {
    checkInteger("list states", "limit", req.limit, { min: 1, max: MAX_PAGE });
    if (req.after !== undefined) checkString("list states", "after", req.after);
    const now = this.#ctx.clock.now();
    const rows =
      (req.after === undefined
        ? (req.includeData ? this.#list.data : this.#list.ids).all(req.actorType, now, req.limit + 1)
        : (req.includeData ? this.#list.dataAfter : this.#list.idsAfter).all(
          req.actorType,
          utf16Key(req.after),
          now,
          req.limit + 1,
        )) as Row[];
    const hasMore = rows.length > req.limit;
    if (hasMore) rows.length = req.limit;
    const entries = rows.map((row) =>
      req.includeData
        ? { actorId: row.actor_id as string, data: copyBytes(row.data) }
        : { actorId: row.actor_id as string }
    );
    return { entries, hasMore };
  }
}

function notFound(action: string, actorType: string, actorId: string): StateNotFoundError {
  return new StateNotFoundError(`Cannot ${action} state: state of "${actorType}/${actorId}" not found`);
}
