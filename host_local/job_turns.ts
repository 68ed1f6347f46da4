/**
 * Pieces of the job scheduler (`job_scheduler.ts`) that deal with one actor:
 * finding or creating its local activation, running `jobFailed` in an
 * exclusive turn, the §9.4 retry backoff, the execution deadline of alarm and
 * job runs in the remote topology, and the per-host capacity groups of
 * API.md §12.1.
 *
 * @module
 */

import type { Actor, JobFailure, Logger } from "../actor/types.ts";
import type { ActorProvider } from "../providers/types.ts";
import { runInTurn } from "../_internal/ambient.ts";
import { withTimeout } from "../_internal/delay.ts";
import { errorMessage } from "../_internal/logger.ts";
import { DeadlineExceededError, isFrancisError } from "../errors.ts";
import { type Activation, actorKey, type ActorTable } from "./actor_table.ts";
import type { ActorRegistry } from "./registry.ts";
import type { TurnContext } from "./turn_context.ts";

/** A capacity group as registered (`RegisterActorOptions.capacityGroup`). */
export interface CapacityGroup {
  /** A valid name (§1.4). */
  readonly name: string;
  /** Integer ≥ 1: concurrent job executions of the group's types on one host. */
  readonly limit: number;
}

/** What the helpers need from the host. */
export interface JobTurnDeps {
  provider: ActorProvider;
  table: ActorTable;
  registry: ActorRegistry;
  logger: Logger;
  hostId(): string;
  draining(): boolean;
  healthCheckDeadlineMs: number;
  /**
   * Remote topology only (the runtime's `alarmExecutionTimeoutMs`): a run longer than this fails its
   * attempt. `undefined` (a `LocalHost`): no limit.
   */
  executionTimeoutMs?: number;
}

/**
 * The local activation of an actor, activating it if it is (or can be)
 * placed on this host; `undefined` if it lives elsewhere, the type is not
 * served here, or the host is stopping. `purpose` names the caller in logs.
 */
export async function ownActivation(
  d: JobTurnDeps,
  actorType: string,
  actorId: string,
  stopped: () => boolean,
  purpose: "job" | "alarm" = "job",
): Promise<Activation | undefined> {
  const key = actorKey(actorType, actorId);
  let act = d.table.get(key);
  if (act !== undefined && act.halting) {
    await act.haltDone;
    act = d.table.get(key);
  }
  if (act !== undefined) return act;
  if (d.draining()) return undefined;
  const entry = d.registry.get(actorType);
  if (entry === undefined) return undefined;
  try {
    const placement = await d.provider.lookupActor({
      actorType,
      actorId,
      activeOnly: false,
      healthCheckDeadlineMs: d.healthCheckDeadlineMs,
    });
    if (placement.hostId !== d.hostId()) return undefined;
  } catch (err) {
    d.logger.warn(`Cannot place actor for ${purpose}`, { actor: key, err: errorMessage(err) });
    return undefined;
  }
  if (d.draining() || stopped()) return undefined;
  return d.table.get(key) ?? d.table.activate(entry, actorId);
}

/**
 * Runs `jobFailed(failure, ctx)` once, best-effort, in an exclusive turn
 * (`kind: "jobFailed"`, `requestId` = the job ID), activating the actor if
 * needed. Every error is logged, never thrown.
 */
export async function notifyJobFailed(
  d: JobTurnDeps,
  actorType: string,
  actorId: string,
  failure: JobFailure,
  stopped: () => boolean,
): Promise<void> {
  const key = actorKey(actorType, actorId);
  for (let round = 0; round < 2; round++) {
    const act = await ownActivation(d, actorType, actorId, stopped);
    if (act === undefined) {
      d.logger.warn("Cannot call jobFailed: the actor is not hosted here", { actor: key, jobId: failure.jobId });
      return;
    }
    let instance: Actor;
    try {
      instance = act.instance ?? await act.ready;
      if (typeof instance.jobFailed !== "function") return;
      await act.lock.acquire(false);
    } catch (err) {
      if (isFrancisError(err, "actor_halted") && round === 0) continue; // halted meanwhile: once more, re-activating
      d.logger.warn("Cannot call jobFailed", { actor: key, jobId: failure.jobId, err: errorMessage(err) });
      return;
    }
    const ctx = d.table.beginTurn(act, {
      kind: "jobFailed",
      requestId: failure.jobId,
      readOnly: false,
      attempt: 1,
      chain: [act.key],
    });
    try {
      await runInTurn(ctx, () => instance.jobFailed!(failure, ctx));
    } catch (err) {
      d.logger.warn("Actor jobFailed() failed", { actor: key, jobId: failure.jobId, err: errorMessage(err) });
    } finally {
      d.table.endTurn(act, ctx, false);
    }
    return;
  }
}

/**
 * The §9.4 delay before retry k (k = runs made so far, ≥ 1):
 * `initialRetryDelayMs × min(1.5^(k−1), 10) × U[0.9, 1.1]`.
 *
 * @example
 * ```ts
 * import { retryDelayMs } from "./job_turns.ts";
 * const ms = retryDelayMs(2, 1_000);
 * console.log(ms >= 1_350 && ms <= 1_650); // true
 * ```
 */
export function retryDelayMs(attempts: number, initialRetryDelayMs: number): number {
  return initialRetryDelayMs * Math.min(1.5 ** (attempts - 1), 10) * (0.9 + Math.random() * 0.2);
}

/**
 * Concurrent job executions per capacity group on this host.
 *
 * @example
 * ```ts
 * import { CapacityGroups } from "./job_turns.ts";
 * const groups = new CapacityGroups(() => ({ name: "g", limit: 1 }));
 * const release = groups.tryAcquire("a");
 * console.log(release !== undefined, groups.tryAcquire("b")); // true undefined
 * release!();
 * ```
 */
export class CapacityGroups {
  readonly #groupOf: (actorType: string) => CapacityGroup | undefined;
  readonly #inUse = new Map<string, number>();

  constructor(groupOf: (actorType: string) => CapacityGroup | undefined) {
    this.#groupOf = groupOf;
  }

  /** Takes a slot for a job of `actorType`: a release function, or `undefined` when the group is full. */
  tryAcquire(actorType: string): (() => void) | undefined {
    const group = this.#groupOf(actorType);
    if (group === undefined) return () => {};
    const used = this.#inUse.get(group.name) ?? 0;
    if (used >= group.limit) return undefined;
    this.#inUse.set(group.name, used + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.#inUse.get(group.name) ?? 1) - 1;
      if (n <= 0) this.#inUse.delete(group.name);
      else this.#inUse.set(group.name, n);
    };
  }
}

/** A type's `capacityGroup` from its registration options, once `RegisterActorOptions` has it. */
export function registryCapacityGroup(registry: ActorRegistry): (actorType: string) => CapacityGroup | undefined {
  return (actorType) =>
    (registry.get(actorType)?.options as { capacityGroup?: CapacityGroup } | undefined)?.capacityGroup;
}

/** A reference to `act` only if it is still the table's activation and not halting. */
export function liveActivation(table: ActorTable, act: Activation): Activation | undefined {
  return table.get(act.key) === act && !act.halting ? act : undefined;
}

/** An alarm or job handler started by {@linkcode runTimedHandler}. */
export interface TimedRun {
  /** Settles as the handler does, or rejects with `DeadlineExceededError` once the deadline passes first. */
  readonly outcome: Promise<void>;
  /** Resolves once the handler itself has settled: the turn stays held until then. */
  readonly done: Promise<void>;
}

/**
 * Runs an alarm or job handler in its turn under the execution deadline
 * (API.md §9.4, remote topology). When `timeoutMs` passes first, `ctx.signal`
 * aborts with a `DeadlineExceededError` and `outcome` rejects with it, so the
 * caller counts a failed attempt and schedules the retry at once; the caller
 * must still await `done` before ending the turn, so the retry waits behind
 * the old run on the turn lock. Without `timeoutMs` the handler runs unbounded.
 *
 * @example
 * ```ts
 * import { runTimedHandler } from "./job_turns.ts";
 * import { TurnContext } from "./turn_context.ts";
 * const ctx = new TurnContext({
 *   actorType: "t", actorId: "a", actorKey: "t/a", kind: "alarm", requestId: "r", readOnly: false,
 *   attempt: 1, chain: ["t/a"], halting: new AbortController().signal,
 * });
 * const run = runTimedHandler(ctx, 10, 'alarm "tick"', () => new Promise((r) => setTimeout(r, 50)));
 * await run.outcome.catch((err) => console.log(err.code, ctx.signal.aborted)); // deadline_exceeded true
 * await run.done;
 * ```
 */
export function runTimedHandler(
  ctx: TurnContext,
  timeoutMs: number | undefined,
  what: string,
  handler: () => unknown,
): TimedRun {
  let running: Promise<unknown>;
  try {
    running = Promise.resolve(runInTurn(ctx, handler));
  } catch (err) {
    running = Promise.reject(err);
  }
  const finished = running.then(() => {});
  const done = finished.catch(() => {});
  if (timeoutMs === undefined) return { outcome: finished, done };
  const outcome = withTimeout(finished, timeoutMs, () => {
    const err = new DeadlineExceededError(
      `Cannot finish ${what}: it ran longer than alarmExecutionTimeoutMs (${timeoutMs} ms)`,
    );
    ctx.abort(err);
    return err;
  });
  return { outcome, done };
}
