/**
 * Conformance cases for `fetchAndLeaseAlarms` (Go catalogue FA, CF).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  addHost,
  BATCH,
  DEADLINE,
  FETCH_AHEAD,
  fetchFor,
  lookup,
  setAlarmIn,
  type SuiteCase,
  typeReg,
} from "./helpers.ts";

/** Fetch cases. */
export const fetchCases: SuiteCase[] = [
  {
    name: "alarms fetch leases alarms due within the fetch-ahead window",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      for (
        const [name, inMs] of [["overdue", -300_000], ["soon", 10_000], ["edge", FETCH_AHEAD], [
          "late",
          FETCH_AHEAD + 1,
        ]] as const
      ) {
        await setAlarmIn(p, clock, ["A", `a-${name}`, name], inMs);
      }
      const leases = await fetchFor(p, h1);
      assert.deepEqual(leases.map((l) => l.name), ["overdue", "soon", "edge"]);
      clock.advance(1);
      assert.deepEqual((await fetchFor(p, h1)).map((l) => l.name), ["late"]);
    },
  },
  {
    name: "alarms fetch returns leases with identity and due time",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await setAlarmIn(p, clock, ["A", "a1", "tick"], 1_000);
      const [lease, ...rest] = await fetchFor(p, h1);
      assert.deepEqual(rest, []);
      assert.deepEqual({ ...lease, alarmId: "", leaseId: "" }, {
        alarmId: "",
        leaseId: "",
        actorType: "A",
        actorId: "a1",
        name: "tick",
        dueTime: clock.now() + 1_000,
      });
      assert.ok(lease.alarmId.length > 0 && lease.leaseId.length > 0);
      assert.equal((await p.getLeasedAlarm(lease)).name, "tick");
    },
  },
  {
    name: "alarms fetch respects batchSize and orders by due time",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const offsets = [700, 100, 900, 300, 0, 800, 200, 600, 400, 500];
      for (const ms of offsets) await setAlarmIn(p, clock, ["A", `a-${ms}`, "n"], ms - 1_000);
      const first = await fetchFor(p, h1, { batchSize: 4 });
      assert.deepEqual(first.map((l) => l.actorId), ["a-0", "a-100", "a-200", "a-300"]);
      const second = await fetchFor(p, h1, { batchSize: 4 });
      assert.deepEqual(second.map((l) => l.actorId), ["a-400", "a-500", "a-600", "a-700"]);
      assert.deepEqual((await fetchFor(p, h1, { batchSize: 4 })).map((l) => l.actorId), ["a-800", "a-900"]);
      assert.deepEqual(await fetchFor(p, h1), []);
    },
  },
  {
    name: "alarms fetch skips types the host does not serve",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await setAlarmIn(p, clock, ["B", "b1", "n"], 0);
      await setAlarmIn(p, clock, ["A", "a1", "n"], 0);
      assert.deepEqual((await fetchFor(p, h1)).map((l) => l.actorType), ["A"]);
    },
  },
  {
    name: "alarms fetch skips alarms of actors placed on another healthy host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["X"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["X"]);
      await lookup(p, "X", "on-h2", { allowedHostIds: [h2] });
      await lookup(p, "X", "on-h1", { allowedHostIds: [h1] });
      for (const id of ["on-h2", "on-h1", "unplaced"]) await setAlarmIn(p, clock, ["X", id, "n"], 0);
      assert.deepEqual((await fetchFor(p, h1)).map((l) => l.actorId).sort(), ["on-h1", "unplaced"]);
      assert.deepEqual((await fetchFor(p, h2)).map((l) => l.actorId), ["on-h2"]);
    },
  },
  {
    name: "alarms fetch takes over alarms of actors placed on a dead host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["X"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["X"]);
      await lookup(p, "X", "x1", { allowedHostIds: [h1] });
      clock.advance(40_000);
      await p.heartbeat(h2, DEADLINE);
      clock.advance(30_000);
      await setAlarmIn(p, clock, ["X", "x1", "n"], 0);
      const leases = await fetchFor(p, h2);
      assert.deepEqual(leases.map((l) => l.actorId), ["x1"]);
      assert.equal((await lookup(p, "X", "x1", { activeOnly: true })).hostId, h2, "the actor moved to the fetcher");
    },
  },
  {
    name: "alarms fetch places unplaced actors on the fetching host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", [typeReg("A", 0, 45_000)]);
      await addHost(p, "10.0.0.2:7000", ["A"]);
      await setAlarmIn(p, clock, ["A", "a1", "n"], 0);
      await setAlarmIn(p, clock, ["A", "a1", "m"], 5);
      assert.deepEqual((await fetchFor(p, h1)).map((l) => l.name), ["n", "m"]);
      assert.deepEqual(await lookup(p, "A", "a1", { activeOnly: true }), {
        hostId: h1,
        address: "10.0.0.1:7000",
        idleTimeoutMs: 45_000,
      });
    },
  },
  {
    name: "alarms fetch places actors only within the host's concurrencyLimit",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", [typeReg("A", 2)]);
      await lookup(p, "A", "a1");
      await setAlarmIn(p, clock, ["A", "a1", "first"], 0);
      await setAlarmIn(p, clock, ["A", "a2", "n"], 1);
      await setAlarmIn(p, clock, ["A", "a3", "n"], 2);
      await setAlarmIn(p, clock, ["A", "a1", "second"], 3);
      const leases = await fetchFor(p, h1);
      assert.deepEqual(leases.map((l) => `${l.actorId}/${l.name}`), ["a1/first", "a2/n", "a1/second"]);
      assert.deepEqual(await fetchFor(p, h1), [], "a3 still does not fit");
      await p.deleteLeasedAlarm(leases[1]);
      assert.equal(await p.removeActor("A", "a2"), true);
      assert.deepEqual((await fetchFor(p, h1)).map((l) => l.actorId), ["a3"], "a2's slot is free again");
    },
  },
  {
    name: "alarms fetch does not return alarms that are already leased",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      for (let i = 0; i < 30; i++) await setAlarmIn(p, clock, ["A", `a${i}`, "n"], i * 100);
      const first = await fetchFor(p, h1);
      const second = await fetchFor(p, h1);
      assert.equal(first.length, BATCH);
      assert.equal(second.length, 30 - BATCH);
      const ids = new Set([...first, ...second].map((l) => l.alarmId));
      assert.equal(ids.size, 30);
    },
  },
  {
    name: "alarms fetch re-leases an alarm whose lease expired",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await setAlarmIn(p, clock, ["A", "a1", "n"], 0);
      const [first] = await fetchFor(p, h1, { leaseDurationMs: 10_000 });
      clock.advance(9_999);
      assert.deepEqual(await fetchFor(p, h1), [], "lease still valid");
      clock.advance(1);
      const [second] = await fetchFor(p, h1);
      assert.equal(second.alarmId, first.alarmId);
      assert.notEqual(second.leaseId, first.leaseId);
      await p.getLeasedAlarm(second);
    },
  },
  {
    name: "alarms fetch for an unknown or dead host returns nothing",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      await setAlarmIn(p, clock, ["A", "a1", "n"], 0);
      assert.deepEqual(await fetchFor(p, "00000000-0000-4000-8000-000000000000"), []);
      clock.advance(40_000);
      await p.heartbeat(h2, DEADLINE);
      clock.advance(21_000);
      assert.deepEqual(await fetchFor(p, h1), [], "h1 is dead");
      assert.deepEqual((await fetchFor(p, h2)).map((l) => l.actorId), ["a1"], "the dead host leased nothing");
    },
  },
  {
    name: "alarms concurrent fetches from several hosts never lease one alarm twice",
    async fn({ provider: p, clock }) {
      const hosts: string[] = [];
      for (let i = 0; i < 10; i++) hosts.push(await addHost(p, `10.0.0.${i + 1}:7000`, ["A"]));
      for (let i = 0; i < 50; i++) await setAlarmIn(p, clock, ["A", `a${i}`, "n"], -5_000);
      const batches = await Promise.all(hosts.map((h) => fetchFor(p, h, { batchSize: 10 })));
      const more = await Promise.all(hosts.map((h) => fetchFor(p, h, { batchSize: 10 })));
      const all = [...batches, ...more].flatMap((leases, i) =>
        leases.map((l) => ({ l, host: hosts[i % hosts.length] }))
      );
      assert.equal(all.length, 50);
      assert.equal(new Set(all.map(({ l }) => l.alarmId)).size, 50);
      for (const { l, host } of all) {
        assert.equal(
          (await lookup(p, "A", l.actorId, { activeOnly: true })).hostId,
          host,
          `${l.actorId} on its leaser`,
        );
      }
    },
  },
];
