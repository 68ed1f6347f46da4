/**
 * The state methods of a host's `ActorService` (API.md §6): validation, the
 * ambient turn's read-only rule, and **fencing**: an actor writing its own
 * state from its turn sends this host's ID, and a write refused because the
 * placement moved (`PlacementLostError`) halts the stale activation after its
 * turn.
 *
 * @module
 */

import type {
  CallOptions,
  ListAllStatesOptions,
  ListStatesOptions,
  Logger,
  SetStateOptions,
  StateEntry,
  StateList,
} from "../actor/types.ts";
import type { AmbientTurn } from "../_internal/ambient.ts";
import { type Codec, decodePayload, encodePayload } from "../_internal/codec.ts";
import { raceSignal } from "../_internal/delay.ts";
import { checkInt } from "../_internal/validate.ts";
import { isFrancisError } from "../errors.ts";
import type { ActorProvider } from "../providers/types.ts";
import { actorKey, type ActorTable } from "./actor_table.ts";
import { checkType } from "./names.ts";
import { beginCall, checkCallTarget, refuseReadOnly } from "./call_context.ts";

/** What the state methods need from the host. */
export interface StateServiceDeps {
  running(): boolean;
  codec: Codec;
  provider: ActorProvider;
  table: ActorTable;
  logger: Logger;
  hostId(): string;
}

/**
 * State reads, writes and listings for a host's service.
 *
 * @example
 * ```ts ignore
 * const state = new LocalStateService(deps);
 * await state.setState("counter", "c1", { n: 1 });
 * ```
 */
export class LocalStateService {
  readonly #d: StateServiceDeps;

  constructor(deps: StateServiceDeps) {
    this.#d = deps;
  }

  async getState<T = unknown>(actorType: string, actorId: string, options?: CallOptions): Promise<T> {
    return decodePayload(this.#d.codec, await this.getStateEncoded(actorType, actorId, options, false)) as T;
  }

  /** `getState` without decoding; `internal` allows reserved types (built-ins). */
  async getStateEncoded(
    actorType: string,
    actorId: string,
    options: CallOptions | undefined,
    internal: boolean,
  ): Promise<Uint8Array> {
    checkCallTarget("get state", actorType, actorId, internal);
    const { signal } = beginCall(this.#d.running, "get state", options);
    return await raceSignal(this.#d.provider.getState(actorType, actorId), signal);
  }

  async setState(actorType: string, actorId: string, state: unknown, options?: SetStateOptions): Promise<void> {
    await this.setStateEncoded(actorType, actorId, state, options, false);
  }

  /** `setState` that resolves with the stored bytes; `internal` allows reserved types (built-ins). */
  async setStateEncoded(
    actorType: string,
    actorId: string,
    state: unknown,
    options: SetStateOptions | undefined,
    internal: boolean,
  ): Promise<Uint8Array> {
    const action = "set state";
    checkCallTarget(action, actorType, actorId, internal);
    const ttlMs = options?.ttlMs === undefined ? undefined : checkInt(options.ttlMs, action, "ttlMs", 1);
    const { turn, signal } = beginCall(this.#d.running, action, options);
    if (!internal) refuseReadOnly(action, turn);
    const data = encodePayload(this.#d.codec, state, "state");
    signal?.throwIfAborted();
    const fenceHostId = this.#fence(turn, actorType, actorId);
    await raceSignal(
      this.#fenced(this.#d.provider.setState({ actorType, actorId, data, ttlMs, fenceHostId }), fenceHostId, turn),
      signal,
    );
    return data;
  }

  /**
   * An actor writing its own state from its turn is fenced by this host's ID:
   * if its placement moved (this host was declared dead), the write is refused.
   */
  #fence(turn: AmbientTurn | undefined, actorType: string, actorId: string): string | undefined {
    return turn !== undefined && turn.actorKey === actorKey(actorType, actorId) ? this.#d.hostId() : undefined;
  }

  /** A refused fenced write means this activation is stale: it halts after its turn. */
  async #fenced(write: Promise<void>, fenceHostId: string | undefined, turn: AmbientTurn | undefined): Promise<void> {
    try {
      await write;
    } catch (err) {
      if (fenceHostId !== undefined && isFrancisError(err, "placement_lost")) {
        const act = this.#d.table.get(turn!.actorKey);
        if (act !== undefined) act.deferredHalt = true;
        this.#d.logger.warn("Actor lost its placement; halting this activation", { actor: turn!.actorKey });
      }
      throw err;
    }
  }

  /** Deletes state; `internal` allows reserved types (built-ins). */
  async deleteState(
    actorType: string,
    actorId: string,
    options: CallOptions | undefined,
    internal: boolean,
  ): Promise<void> {
    checkCallTarget("delete state", actorType, actorId, internal);
    const { turn, signal } = beginCall(this.#d.running, "delete state", options);
    if (!internal) refuseReadOnly("delete state", turn);
    const fenceHostId = this.#fence(turn, actorType, actorId);
    await raceSignal(
      this.#fenced(this.#d.provider.deleteState(actorType, actorId, { fenceHostId }), fenceHostId, turn),
      signal,
    );
  }

  async listStates<T = unknown>(actorType: string, options?: ListStatesOptions): Promise<StateList<T>> {
    const action = "list states";
    checkType(action, actorType);
    const limit = checkInt(options?.limit ?? 100, action, "limit", 1, 1_000);
    const after = options?.after;
    if (after !== undefined && typeof after !== "string") {
      throw new TypeError(`Cannot ${action}: after must be a string`);
    }
    const includeData = options?.includeData ?? false;
    if (typeof includeData !== "boolean") throw new TypeError(`Cannot ${action}: includeData must be a boolean`);
    const { signal } = beginCall(this.#d.running, action, options);
    const page = await raceSignal(this.#d.provider.listStates({ actorType, after, limit, includeData }), signal);
    const states = page.entries.map((e): StateEntry<T> =>
      includeData && e.data !== undefined
        ? { actorId: e.actorId, data: decodePayload(this.#d.codec, e.data) as T }
        : { actorId: e.actorId }
    );
    const last = states.at(-1);
    return { states, hasMore: page.hasMore, nextAfter: page.hasMore && last ? last.actorId : undefined };
  }

  async *listAllStates<T = unknown>(
    actorType: string,
    options?: ListAllStatesOptions,
  ): AsyncIterableIterator<StateEntry<T>> {
    const pageSize = checkInt(options?.pageSize ?? 100, "list states", "pageSize", 1, 1_000);
    let after: string | undefined;
    do {
      const page: StateList<T> = await this.listStates<T>(actorType, {
        includeData: options?.includeData,
        limit: pageSize,
        after,
        signal: options?.signal,
      });
      yield* page.states;
      after = page.nextAfter;
    } while (after !== undefined);
  }
}
