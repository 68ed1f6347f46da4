/**
 * Conformance cases for alarm leases after a fetch (Go catalogue GL, RN, RL,
 * UL, DL, RA.7).
 *
 * @module
 */

import assert from "node:assert/strict";
import { AlarmNotFoundError } from "../../errors.ts";
import type { ActorProvider, AlarmLease } from "../../providers/types.ts";
import type { ManualClock } from "../manual_clock.ts";
import {
  addHost,
  assertRejects,
  DEADLINE,
  fetchFor,
  LEASE,
  lookup,
  setAlarmIn,
  type SuiteCase,
  text,
  utf8,
} from "./helpers.ts";

/** Registers one host serving `A`, sets `count` alarms due now on actors a0…, and leases them. */
async function leased(p: ActorProvider, clock: ManualClock, count: number): Promise<[string, AlarmLease[]]> {
  const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
  for (let i = 0; i < count; i++) await setAlarmIn(p, clock, ["A", `a${i}`, "n"], i, { data: utf8(`d${i}`) });
  const leases = await fetchFor(p, hostId);
  assert.equal(leases.length, count);
  return [hostId, leases];
}

/** Asserts that every lease-checked method rejects `lease`. */
async function assertStale(p: ActorProvider, lease: AlarmLease, context: string): Promise<void> {
  await assertRejects(p.getLeasedAlarm(lease), AlarmNotFoundError, `getLeasedAlarm, ${context}`);
  const update = { dueTime: 0, keepLease: true, leaseDurationMs: LEASE };
  await assertRejects(p.updateLeasedAlarm(lease, update), AlarmNotFoundError, `updateLeasedAlarm, ${context}`);
  await assertRejects(p.releaseAlarmLease(lease), AlarmNotFoundError, `releaseAlarmLease, ${context}`);
  await assertRejects(p.deleteLeasedAlarm(lease), AlarmNotFoundError, `deleteLeasedAlarm, ${context}`);
}

/** Lease cases. */
export const leaseCases: SuiteCase[] = [
  {
    name: "leases getLeasedAlarm returns the alarm for a valid lease",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
      const ttl = clock.now() + 86_400_000;
      await setAlarmIn(p, clock, ["A", "a1", "n"], 0, { interval: "PT1H", ttl, data: utf8("payload") });
      await setAlarmIn(p, clock, ["A", "a2", "bare"], 1);
      const [full, bare] = await fetchFor(p, hostId);
      const got = await p.getLeasedAlarm(full);
      assert.deepEqual({ ...got, data: text(got.data) }, {
        actorType: "A",
        actorId: "a1",
        name: "n",
        dueTime: full.dueTime,
        interval: "PT1H",
        ttl,
        data: "payload",
      });
      const min = await p.getLeasedAlarm(bare);
      assert.deepEqual([min.interval, min.ttl, min.data], [undefined, undefined, undefined]);
    },
  },
  {
    name: "leases a stale lease throws AlarmNotFoundError",
    async fn({ provider: p, clock }) {
      const [, [lease]] = await leased(p, clock, 1);
      await assertStale(p, { ...lease, alarmId: "00000000-0000-4000-8000-000000000000" }, "unknown alarm");
      await assertStale(p, { ...lease, leaseId: "00000000-0000-4000-8000-000000000000" }, "wrong leaseId");
      await p.getLeasedAlarm(lease);
      clock.advance(LEASE);
      await assertStale(p, lease, "expired lease");
      await p.getAlarm("A", "a0", "n");
    },
  },
  {
    name: "leases an alarm that was never leased has no valid lease",
    async fn({ provider: p, clock }) {
      await addHost(p, "10.0.0.1:7000", ["A"]);
      await setAlarmIn(p, clock, ["A", "a1", "n"], 3_600_000);
      const fake: AlarmLease = {
        alarmId: "00000000-0000-4000-8000-000000000001",
        leaseId: "00000000-0000-4000-8000-000000000002",
        actorType: "A",
        actorId: "a1",
        name: "n",
        dueTime: clock.now() + 3_600_000,
      };
      await assertStale(p, fake, "made-up lease");
    },
  },
  {
    name: "leases renewAlarmLeases extends every valid lease of the host's actors",
    async fn({ provider: p, clock }) {
      const [hostId, leases] = await leased(p, clock, 3);
      clock.advance(30_000);
      await p.heartbeat(hostId, DEADLINE);
      const renewed = await p.renewAlarmLeases({ hostId, leaseDurationMs: LEASE });
      assert.deepEqual(renewed.map((l) => l.alarmId).sort(), leases.map((l) => l.alarmId).sort());
      clock.advance(45_000);
      for (const lease of leases) await p.getLeasedAlarm(lease);
      for (const lease of renewed) await p.getLeasedAlarm(lease);
    },
  },
  {
    name: "leases renewAlarmLeases with leases renews only those",
    async fn({ provider: p, clock }) {
      const [hostId, leases] = await leased(p, clock, 3);
      clock.advance(30_000);
      const renewed = await p.renewAlarmLeases({ hostId, leaseDurationMs: LEASE, leases: leases.slice(0, 2) });
      assert.deepEqual(renewed.map((l) => l.alarmId).sort(), leases.slice(0, 2).map((l) => l.alarmId).sort());
      clock.advance(45_000);
      await p.getLeasedAlarm(leases[0]);
      await p.getLeasedAlarm(leases[1]);
      await assertRejects(p.getLeasedAlarm(leases[2]), AlarmNotFoundError, "not renewed, expired");
    },
  },
  {
    name: "leases renewAlarmLeases ignores expired, unknown and foreign leases",
    async fn({ provider: p, clock }) {
      const [hostId, [valid]] = await leased(p, clock, 1);
      const other = await addHost(p, "10.0.0.2:7000", ["A"]);
      const fake = { ...valid, leaseId: "00000000-0000-4000-8000-000000000000" };
      clock.advance(30_000);
      assert.deepEqual(await p.renewAlarmLeases({ hostId: other, leaseDurationMs: LEASE }), [], "another host");
      assert.deepEqual(await p.renewAlarmLeases({ hostId: other, leaseDurationMs: LEASE, leases: [valid] }), []);
      assert.deepEqual(await p.renewAlarmLeases({ hostId: "no-such-host", leaseDurationMs: LEASE }), []);
      const renewed = await p.renewAlarmLeases({ hostId, leaseDurationMs: LEASE, leases: [fake, valid] });
      assert.deepEqual(renewed.map((l) => l.leaseId), [valid.leaseId]);
      clock.advance(LEASE);
      assert.deepEqual(await p.renewAlarmLeases({ hostId, leaseDurationMs: LEASE }), [], "expired");
    },
  },
  {
    name: "leases renewAlarmLeases returns current due times",
    async fn({ provider: p, clock }) {
      const [hostId, [lease]] = await leased(p, clock, 1);
      const dueTime = clock.now() + 5_000;
      await p.updateLeasedAlarm(lease, { dueTime, keepLease: true, leaseDurationMs: LEASE });
      const [renewed] = await p.renewAlarmLeases({ hostId, leaseDurationMs: LEASE });
      assert.deepEqual(renewed, { ...lease, dueTime });
    },
  },
  {
    name: "leases updateLeasedAlarm with keepLease moves the alarm and extends the lease",
    async fn({ provider: p, clock }) {
      const [, [lease]] = await leased(p, clock, 1);
      clock.advance(30_000);
      const dueTime = clock.now() + 123_457;
      await p.updateLeasedAlarm(lease, { dueTime, keepLease: true, leaseDurationMs: LEASE });
      clock.advance(50_000);
      const got = await p.getLeasedAlarm(lease);
      assert.deepEqual([got.actorType, got.actorId, got.name, got.dueTime, text(got.data)], [
        "A",
        "a0",
        "n",
        dueTime,
        "d0",
      ]);
      clock.advance(10_000);
      await assertRejects(p.getLeasedAlarm(lease), AlarmNotFoundError, "extended lease ran out");
    },
  },
  {
    name: "leases updateLeasedAlarm without keepLease releases the lease",
    async fn({ provider: p, clock }) {
      const [hostId, [lease]] = await leased(p, clock, 1);
      const dueTime = clock.now() + 60_000;
      await p.updateLeasedAlarm(lease, { dueTime, keepLease: false, leaseDurationMs: LEASE });
      await assertRejects(p.getLeasedAlarm(lease), AlarmNotFoundError);
      assert.equal((await p.getAlarm("A", "a0", "n")).dueTime, dueTime);
      assert.deepEqual(await fetchFor(p, hostId), [], "not due yet");
      clock.advance(30_000);
      const [again] = await fetchFor(p, hostId);
      assert.deepEqual([again.alarmId, again.dueTime], [lease.alarmId, dueTime], "same alarm, new due time");
    },
  },
  {
    name: "leases deleteLeasedAlarm deletes only that alarm",
    async fn({ provider: p, clock }) {
      const [, leases] = await leased(p, clock, 3);
      await p.deleteLeasedAlarm(leases[0]);
      await p.deleteLeasedAlarm(leases[2]);
      await assertRejects(p.getAlarm("A", "a0", "n"), AlarmNotFoundError);
      await assertRejects(p.deleteLeasedAlarm(leases[0]), AlarmNotFoundError, "second delete");
      await p.getLeasedAlarm(leases[1]);
      await assertRejects(p.getAlarm("A", "a2", "n"), AlarmNotFoundError);
    },
  },
  {
    name: "leases releaseAlarmLease frees the alarm for the next fetch",
    async fn({ provider: p, clock }) {
      const [hostId, leases] = await leased(p, clock, 3);
      await p.releaseAlarmLease(leases[0]);
      await p.releaseAlarmLease(leases[2]);
      await assertRejects(p.releaseAlarmLease(leases[0]), AlarmNotFoundError, "second release");
      await assertRejects(p.getLeasedAlarm(leases[0]), AlarmNotFoundError);
      await p.getLeasedAlarm(leases[1]);
      await p.getAlarm("A", "a0", "n");
      const again = await fetchFor(p, hostId);
      assert.deepEqual(again.map((l) => l.actorId), ["a0", "a2"]);
    },
  },
  {
    name: "leases removeActor clears the leases of the actor's alarms",
    async fn({ provider: p, clock }) {
      const [hostId, leases] = await leased(p, clock, 2);
      assert.equal(await p.removeActor("A", "a0"), true);
      await assertRejects(p.getLeasedAlarm(leases[0]), AlarmNotFoundError);
      await p.getLeasedAlarm(leases[1]);
      await p.getAlarm("A", "a0", "n");
      assert.deepEqual((await fetchFor(p, hostId)).map((l) => l.actorId), ["a0"]);
    },
  },
  {
    name: "leases unregisterHost clears the leases of the host's actors",
    async fn({ provider: p, clock }) {
      const [hostId, [lease]] = await leased(p, clock, 1);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      assert.deepEqual(await fetchFor(p, h2), []);
      await p.unregisterHost(hostId);
      await assertRejects(p.getLeasedAlarm(lease), AlarmNotFoundError);
      assert.deepEqual((await fetchFor(p, h2)).map((l) => l.actorId), ["a0"]);
      assert.equal((await lookup(p, "A", "a0", { activeOnly: true })).hostId, h2);
    },
  },
];
