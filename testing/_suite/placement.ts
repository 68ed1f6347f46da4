/**
 * Conformance cases for actor placement (Go catalogue LA, CL, RA; C-66..C-69).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ActorNotActiveError, ActorTypeUnsupportedError, NoHostError, StateNotFoundError } from "../../errors.ts";
import { addHost, assertRejects, countBy, DEADLINE, IDLE, lookup, type SuiteCase, typeReg } from "./helpers.ts";

/** Placement cases. */
export const placementCases: SuiteCase[] = [
  {
    name: "placement lookupActor creates a placement once and then returns it",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const first = await lookup(p, "A", "a1");
      assert.deepEqual(first, { hostId: h1, address: "10.0.0.1:7000", idleTimeoutMs: IDLE });
      await addHost(p, "10.0.0.2:7000", ["A"]);
      for (let i = 0; i < 10; i++) assert.deepEqual(await lookup(p, "A", "a1"), first);
      assert.deepEqual(await lookup(p, "A", "a1", { activeOnly: true }), first);
    },
  },
  {
    name: "placement lookupActor returns the registered idleTimeoutMs, Infinity included",
    async fn({ provider: p }) {
      await addHost(p, "10.0.0.1:7000", [typeReg("Forever", 0, Infinity), typeReg("Short", 0, 1_000)]);
      assert.equal((await lookup(p, "Forever", "f1")).idleTimeoutMs, Infinity);
      assert.equal((await lookup(p, "Short", "s1")).idleTimeoutMs, 1_000);
      assert.equal((await lookup(p, "Forever", "f1", { activeOnly: true })).idleTimeoutMs, Infinity);
    },
  },
  {
    name: "placement lookupActor spreads new actors over healthy hosts that serve the type",
    async fn({ provider: p, clock }) {
      const dead = await addHost(p, "10.0.0.9:7000", ["C"]);
      clock.advance(40_000);
      const h1 = await addHost(p, "10.0.0.1:7000", ["C"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["C"]);
      await addHost(p, "10.0.0.3:7000", ["B"]);
      clock.advance(30_000);
      const placements = await Promise.all(Array.from({ length: 100 }, (_, i) => lookup(p, "C", `c-${i}`)));
      const counts = countBy(placements, (pl) => pl.hostId);
      assert.deepEqual([...counts.keys()].sort(), [h1, h2].sort());
      assert.ok(!counts.has(dead));
    },
  },
  {
    name: "placement 200 concurrent lookups of 20 actors give one placement per actor",
    async fn({ provider: p }) {
      for (let i = 0; i < 5; i++) await addHost(p, `10.0.0.${i + 1}:7000`, ["A"]);
      const calls = Array.from(
        { length: 200 },
        (_, i) => lookup(p, "A", `a-${i % 20}`).then((pl) => [i % 20, pl] as const),
      );
      const results = await Promise.all(calls);
      for (let actor = 0; actor < 20; actor++) {
        const hostIds = new Set(results.filter(([a]) => a === actor).map(([, pl]) => pl.hostId));
        assert.equal(hostIds.size, 1, `actor a-${actor} was placed on ${hostIds.size} hosts`);
        const active = await lookup(p, "A", `a-${actor}`, { activeOnly: true });
        assert.ok(hostIds.has(active.hostId));
      }
    },
  },
  {
    name: "placement activeOnly lookup of an inactive actor throws ActorNotActiveError with no side effect",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", [typeReg("A", 1)]);
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError, "first call");
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError, "second call");
      await assertRejects(p.getState("A", "a1"), StateNotFoundError);
      // No capacity was consumed: the single slot is still free for another actor.
      assert.equal((await lookup(p, "A", "a2")).hostId, h1);
      await assertRejects(lookup(p, "Unknown", "u1", { activeOnly: true }), ActorNotActiveError, "unknown type");
    },
  },
  {
    name: "placement activeOnly lookup ignores a placement on a dead host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      const placed = await lookup(p, "A", "a1", { allowedHostIds: [h1] });
      assert.equal(placed.hostId, h1);
      clock.advance(40_000);
      await p.heartbeat(h2, DEADLINE);
      clock.advance(30_000);
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError);
    },
  },
  {
    name: "placement lookupActor replaces a placement on a dead host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      assert.equal((await lookup(p, "A", "a1", { allowedHostIds: [h1] })).hostId, h1);
      clock.advance(40_000);
      await p.heartbeat(h2, DEADLINE);
      clock.advance(30_000);
      const moved = await lookup(p, "A", "a1");
      assert.deepEqual(moved, { hostId: h2, address: "10.0.0.2:7000", idleTimeoutMs: IDLE });
      assert.deepEqual(await lookup(p, "A", "a1", { activeOnly: true }), moved);
    },
  },
  {
    name: "placement lookupActor throws ActorTypeUnsupportedError when no healthy host serves the type",
    async fn({ provider: p, clock }) {
      await assertRejects(lookup(p, "A", "a1"), ActorTypeUnsupportedError, "no hosts at all");
      const h1 = await addHost(p, "10.0.0.1:7000", ["D"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      await assertRejects(lookup(p, "Unknown", "u1"), ActorTypeUnsupportedError, "type nobody registered");
      await assertRejects(lookup(p, "Unknown", "u1", { allowedHostIds: [h1] }), ActorTypeUnsupportedError);
      clock.advance(40_000);
      await p.heartbeat(h2, DEADLINE);
      clock.advance(30_000);
      await assertRejects(lookup(p, "D", "d1"), ActorTypeUnsupportedError, "only a dead host serves the type");
    },
  },
  {
    name: "placement lookupActor throws NoHostError when every host is at its concurrencyLimit",
    async fn({ provider: p }) {
      await addHost(p, "10.0.0.1:7000", [typeReg("A", 2), "B"]);
      await addHost(p, "10.0.0.2:7000", [typeReg("A", 1)]);
      for (const id of ["a1", "a2", "a3"]) await lookup(p, "A", id);
      await assertRejects(lookup(p, "A", "a4"), NoHostError);
      // Placed actors are still found, and other types are not limited by A's limit.
      await lookup(p, "A", "a1");
      await lookup(p, "B", "b1");
      assert.equal(await p.removeActor("A", "a2"), true);
      await lookup(p, "A", "a4");
      await assertRejects(lookup(p, "A", "a5"), NoHostError);
    },
  },
  {
    name: "placement lookupActor with allowedHostIds places only on allowed hosts",
    async fn({ provider: p }) {
      await addHost(p, "10.0.0.1:7000", ["C"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["C"]);
      await addHost(p, "10.0.0.3:7000", ["C"]);
      for (let i = 0; i < 10; i++) assert.equal((await lookup(p, "C", `c-${i}`, { allowedHostIds: [h2] })).hostId, h2);
    },
  },
  {
    name: "placement lookupActor throws NoHostError for a placement outside allowedHostIds",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["B"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["B"]);
      await lookup(p, "B", "b1", { allowedHostIds: [h1] });
      assert.equal((await lookup(p, "B", "b1", { allowedHostIds: [h1] })).hostId, h1);
      await assertRejects(lookup(p, "B", "b1", { allowedHostIds: [h2] }), NoHostError, "allocating");
      await assertRejects(lookup(p, "B", "b1", { allowedHostIds: [h2], activeOnly: true }), NoHostError, "activeOnly");
      assert.equal((await lookup(p, "B", "b1", { activeOnly: true })).hostId, h1, "placement unchanged");
    },
  },
  {
    name: "placement lookupActor throws NoHostError when allowedHostIds names no eligible host",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["C"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["D"]);
      await assertRejects(lookup(p, "C", "c1", { allowedHostIds: ["no-such-host"] }), NoHostError, "unknown host");
      await assertRejects(lookup(p, "C", "c1", { allowedHostIds: [] }), NoHostError, "empty list");
      await assertRejects(lookup(p, "C", "c1", { allowedHostIds: [h2] }), NoHostError, "host without the type");
      await assertRejects(lookup(p, "C", "c1", { activeOnly: true }), ActorNotActiveError, "nothing was placed");
      assert.equal((await lookup(p, "C", "c1", { allowedHostIds: [h2, h1] })).hostId, h1);
    },
  },
  {
    name: "placement removeActor removes the placement and reports whether it did",
    async fn({ provider: p }) {
      await addHost(p, "10.0.0.1:7000", ["A", "B"]);
      await lookup(p, "A", "a1");
      await lookup(p, "A", "a2");
      assert.equal(await p.removeActor("A", "a1"), true);
      assert.equal(await p.removeActor("A", "a1"), false, "second removal");
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError);
      await lookup(p, "A", "a2", { activeOnly: true });
      assert.equal(await p.removeActor("A", "never-placed"), false);
      assert.equal(await p.removeActor("NoSuchType", "a1"), false);
    },
  },
  {
    name: "placement removeActor with hostId removes only a placement on that host",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      await lookup(p, "A", "a1", { allowedHostIds: [h1] });
      assert.equal(await p.removeActor("A", "a1", h2), false);
      assert.equal((await lookup(p, "A", "a1", { activeOnly: true })).hostId, h1);
      assert.equal(await p.removeActor("A", "a1", h1), true);
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError);
    },
  },
];
