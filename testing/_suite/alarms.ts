/**
 * Conformance cases for alarm storage: get, set, delete, and how `setAlarm`
 * treats an existing lease (Go catalogue GA, SA, DA; C-34..C-36).
 *
 * @module
 */

import assert from "node:assert/strict";
import { AlarmNotFoundError } from "../../errors.ts";
import { addHost, assertRejects, fetchFor, type SuiteCase, text, utf8 } from "./helpers.ts";

const HOUR = 3_600_000;

/** Alarm storage cases. */
export const alarmCases: SuiteCase[] = [
  {
    name: "alarms getAlarm and deleteAlarm of an unknown alarm throw AlarmNotFoundError",
    async fn({ provider: p }) {
      await assertRejects(p.getAlarm("A", "a1", "nope"), AlarmNotFoundError, "getAlarm");
      await assertRejects(p.deleteAlarm("A", "a1", "nope"), AlarmNotFoundError, "deleteAlarm");
    },
  },
  {
    name: "alarms setAlarm then getAlarm returns every field",
    async fn({ provider: p, clock }) {
      const dueTime = clock.now() + HOUR;
      const ttl = clock.now() + 24 * HOUR;
      await p.setAlarm("A", "a1", "full", { dueTime, interval: "PT1H", ttl, data: utf8('{"k":1}') });
      const got = await p.getAlarm("A", "a1", "full");
      assert.deepEqual({ ...got, data: text(got.data) }, {
        actorType: "A",
        actorId: "a1",
        name: "full",
        dueTime,
        interval: "PT1H",
        ttl,
        data: '{"k":1}',
      });
    },
  },
  {
    name: "alarms setAlarm with only dueTime stores no interval, ttl or data",
    async fn({ provider: p, clock }) {
      await p.setAlarm("A", "a1", "min", { dueTime: clock.now() });
      const got = await p.getAlarm("A", "a1", "min");
      assert.equal(got.dueTime, clock.now());
      assert.equal(got.interval, undefined);
      assert.equal(got.ttl, undefined);
      assert.equal(got.data, undefined);
    },
  },
  {
    name: "alarms setAlarm replaces every field and clears omitted ones",
    async fn({ provider: p, clock }) {
      const now = clock.now();
      await p.setAlarm("A", "a1", "n", {
        dueTime: now + HOUR,
        interval: "PT1H",
        ttl: now + 12 * HOUR,
        data: utf8("v1"),
      });
      await p.setAlarm("A", "a1", "n", {
        dueTime: now + 2 * HOUR,
        interval: "PT2H",
        ttl: now + 24 * HOUR,
        data: utf8("v2"),
      });
      const second = await p.getAlarm("A", "a1", "n");
      assert.deepEqual([second.dueTime, second.interval, second.ttl, text(second.data)], [
        now + 2 * HOUR,
        "PT2H",
        now + 24 * HOUR,
        "v2",
      ]);
      await p.setAlarm("A", "a1", "n", { dueTime: now + 3 * HOUR });
      const third = await p.getAlarm("A", "a1", "n");
      assert.deepEqual([third.dueTime, third.interval, third.ttl, third.data], [
        now + 3 * HOUR,
        undefined,
        undefined,
        undefined,
      ]);
    },
  },
  {
    name: "alarms setAlarm and getAlarm copy data",
    async fn({ provider: p, clock }) {
      const data = utf8("original");
      await p.setAlarm("A", "a1", "n", { dueTime: clock.now(), data });
      data.fill(0);
      const got = await p.getAlarm("A", "a1", "n");
      assert.equal(text(got.data), "original");
      got.data!.fill(0);
      assert.equal(text((await p.getAlarm("A", "a1", "n")).data), "original");
    },
  },
  {
    name: "alarms are keyed by actor type, actor ID and name",
    async fn({ provider: p, clock }) {
      const due = clock.now() + HOUR;
      for (const name of ["alarm1", "alarm2", "alarm3"]) {
        await p.setAlarm("A", "a1", name, { dueTime: due, data: utf8(name) });
      }
      await p.setAlarm("A", "a2", "alarm1", { dueTime: due, data: utf8("other actor") });
      await p.setAlarm("B", "a1", "alarm1", { dueTime: due, data: utf8("TypeB") });
      await p.deleteAlarm("A", "a1", "alarm2");
      await assertRejects(p.getAlarm("A", "a1", "alarm2"), AlarmNotFoundError);
      assert.equal(text((await p.getAlarm("A", "a1", "alarm1")).data), "alarm1");
      assert.equal(text((await p.getAlarm("A", "a1", "alarm3")).data), "alarm3");
      await p.deleteAlarm("A", "a1", "alarm1");
      assert.equal(text((await p.getAlarm("A", "a2", "alarm1")).data), "other actor");
      assert.equal(text((await p.getAlarm("B", "a1", "alarm1")).data), "TypeB");
      await assertRejects(p.deleteAlarm("A", "a1", "alarm1"), AlarmNotFoundError, "second delete");
    },
  },
  {
    name: "alarms setAlarm with identical properties keeps the alarm and its lease",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const props = { dueTime: clock.now() - 1_000, interval: "PT1M", ttl: clock.now() + HOUR, data: utf8("same") };
      await p.setAlarm("A", "a1", "n", props);
      const [lease] = await fetchFor(p, h1);
      assert.ok(lease !== undefined);
      await p.setAlarm("A", "a1", "n", { ...props, data: utf8("same") });
      const got = await p.getLeasedAlarm(lease);
      assert.equal(got.dueTime, props.dueTime);
      assert.equal(text(got.data), "same");
      assert.deepEqual(await fetchFor(p, h1), [], "still leased");
    },
  },
  {
    name: "alarms setAlarm with changed properties invalidates the lease",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await p.setAlarm("A", "a1", "n", { dueTime: clock.now() - 1_000, data: utf8("old") });
      const [lease] = await fetchFor(p, h1);
      await p.setAlarm("A", "a1", "n", { dueTime: clock.now() - 500, data: utf8("replaced") });
      await assertRejects(p.getLeasedAlarm(lease), AlarmNotFoundError, "getLeasedAlarm");
      const update = { dueTime: clock.now(), keepLease: true, leaseDurationMs: 60_000 };
      await assertRejects(p.updateLeasedAlarm(lease, update), AlarmNotFoundError, "updateLeasedAlarm");
      await assertRejects(p.releaseAlarmLease(lease), AlarmNotFoundError, "releaseAlarmLease");
      await assertRejects(p.deleteLeasedAlarm(lease), AlarmNotFoundError, "deleteLeasedAlarm");
      const got = await p.getAlarm("A", "a1", "n");
      assert.deepEqual([got.dueTime, text(got.data)], [clock.now() - 500, "replaced"]);
      const [again] = await fetchFor(p, h1);
      assert.ok(again !== undefined, "the replaced alarm is free to fetch");
      assert.notEqual(again.alarmId, lease.alarmId, "a new alarmId");
      assert.equal(again.dueTime, clock.now() - 500);
    },
  },
];
