/**
 * Shared pieces of the provider conformance suite: the case shape, the
 * timing constants every case uses, and small helpers written against the
 * `ActorProvider` interface only.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FrancisError, isFrancisError } from "../../errors.ts";
import type {
  ActorPlacement,
  ActorProvider,
  ActorTypeRegistration,
  AlarmLease,
  AlarmProperties,
  FetchAlarmsRequest,
  LookupActorRequest,
} from "../../providers/types.ts";
import type { ManualClock } from "../manual_clock.ts";

/** What a case receives: a fresh provider (acquired unless `manualAcquire`) and its clock. */
export interface SuiteContext {
  provider: ActorProvider;
  clock: ManualClock;
}

/** One conformance test. */
export interface SuiteCase {
  /** Unique name, also the key used by `skip`. */
  name: string;
  /** When true the harness neither acquires nor releases; the case does. */
  manualAcquire?: boolean;
  fn(ctx: SuiteContext): Promise<void>;
}

/** Health-check deadline used by every case. */
export const DEADLINE = 60_000;
/** Alarm lease duration used by every case. */
export const LEASE = 60_000;
/** Alarm fetch-ahead window used by every case. */
export const FETCH_AHEAD = 30_000;
/** Alarm fetch batch size used by every case. */
export const BATCH = 24;
/** Default idle timeout of registered types. */
export const IDLE = 300_000;

/** An actor-type registration with suite defaults. */
export function typeReg(actorType: string, concurrencyLimit = 0, idleTimeoutMs = IDLE): ActorTypeRegistration {
  return { actorType, idleTimeoutMs, concurrencyLimit };
}

/** Registers a host and returns its ID. Types given as strings are unlimited. */
export async function addHost(
  p: ActorProvider,
  address: string,
  types: readonly (string | ActorTypeRegistration)[] = [],
): Promise<string> {
  const actorTypes = types.map((t) => typeof t === "string" ? typeReg(t) : t);
  const { hostId } = await p.registerHost({ address, actorTypes, healthCheckDeadlineMs: DEADLINE });
  return hostId;
}

/** `lookupActor` with suite defaults (allocating, suite deadline). */
export function lookup(
  p: ActorProvider,
  actorType: string,
  actorId: string,
  extra: Partial<LookupActorRequest> = {},
): Promise<ActorPlacement> {
  return p.lookupActor({ actorType, actorId, activeOnly: false, healthCheckDeadlineMs: DEADLINE, ...extra });
}

/** `fetchAndLeaseAlarms` with suite defaults. */
export function fetchFor(
  p: ActorProvider,
  hostId: string,
  extra: Partial<FetchAlarmsRequest> = {},
): Promise<AlarmLease[]> {
  return p.fetchAndLeaseAlarms({
    hostId,
    healthCheckDeadlineMs: DEADLINE,
    fetchAheadMs: FETCH_AHEAD,
    batchSize: BATCH,
    leaseDurationMs: LEASE,
    ...extra,
  });
}

/** Sets an alarm due `inMs` after now, with optional extra properties. */
export function setAlarmIn(
  p: ActorProvider,
  clock: ManualClock,
  ref: [actorType: string, actorId: string, name: string],
  inMs: number,
  extra: Partial<AlarmProperties> = {},
): Promise<void> {
  return p.setAlarm(ref[0], ref[1], ref[2], { dueTime: clock.now() + inMs, ...extra });
}

/** UTF-8 bytes of `s`. */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Text of UTF-8 bytes. */
export function text(b: Uint8Array | undefined): string | undefined {
  return b === undefined ? undefined : new TextDecoder().decode(b);
}

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/**
 * Asserts that `promise` rejects with `expected`. Francis errors match by
 * `code` (so copies of the package agree); built-in errors by `instanceof`.
 */
export async function assertRejects(promise: Promise<unknown>, expected: ErrorClass, context = ""): Promise<void> {
  const where = context === "" ? "" : ` (${context})`;
  try {
    await promise;
  } catch (err) {
    if (expected.prototype instanceof FrancisError) {
      const code = (new expected() as FrancisError).code;
      if (isFrancisError(err, code)) return;
    } else if (err instanceof expected) {
      return;
    }
    assert.fail(`Expected ${expected.name}${where}, got ${err instanceof Error ? `${err.name}: ${err.message}` : err}`);
  }
  assert.fail(`Expected ${expected.name}${where}, but the call resolved`);
}

/** Groups `items` by `key`, counting each key. */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}
