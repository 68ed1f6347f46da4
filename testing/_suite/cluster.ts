/**
 * Conformance cases for what a multi-host cluster needs from a provider:
 * caller-chosen host IDs, draining hosts, eviction of unreachable hosts and
 * fenced state writes (PlacementLostError).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  ClusterFullError,
  HostAlreadyRegisteredError,
  HostUnregisteredError,
  MaxHostsMismatchError,
  PlacementLostError,
} from "../../errors.ts";
import { addHost, assertRejects, DEADLINE, fetchFor, lookup, type SuiteCase, typeReg } from "./helpers.ts";

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

/** Cluster cases. */
export const clusterCases: SuiteCase[] = [
  {
    name: "cluster registerHost uses a caller-chosen hostId and refuses to reuse one",
    async fn({ provider: p }) {
      const req = { address: "10.0.0.1:7000", actorTypes: [typeReg("A")], healthCheckDeadlineMs: DEADLINE };
      const { hostId } = await p.registerHost({ ...req, hostId: "host-one_1" });
      assert.equal(hostId, "host-one_1");
      assert.deepEqual((await p.listHosts(DEADLINE)).map((h) => h.hostId), ["host-one_1"]);
      await assertRejects(
        p.registerHost({ ...req, address: "10.0.0.2:7000", hostId: "host-one_1" }),
        HostAlreadyRegisteredError,
      );
      await assert.rejects(p.registerHost({ ...req, address: "10.0.0.3:7000", hostId: "bad/id" }), TypeError);
      await assert.rejects(p.registerHost({ ...req, address: "10.0.0.3:7000", hostId: "" }), TypeError);
      assert.equal((await p.listHosts(DEADLINE)).length, 1);
    },
  },
  {
    name: "cluster registerHost enforces maxHosts: ClusterFullError, MaxHostsMismatchError, dead hosts free a place",
    async fn({ provider: p, clock }) {
      const req = (address: string, maxHosts: number) => ({
        address,
        actorTypes: [typeReg("A")],
        healthCheckDeadlineMs: DEADLINE,
        maxHosts,
      });
      await p.registerHost(req("10.0.0.1:7000", 2));
      await assertRejects(p.registerHost(req("10.0.0.2:7000", 3)), MaxHostsMismatchError);
      await assertRejects(p.registerHost(req("10.0.0.2:7000", 0)), MaxHostsMismatchError);
      await p.registerHost(req("10.0.0.2:7000", 2));
      await assertRejects(p.registerHost(req("10.0.0.3:7000", 2)), ClusterFullError);
      assert.equal((await p.listHosts(DEADLINE)).length, 2);
      await assert.rejects(p.registerHost(req("10.0.0.3:7000", -1)), RangeError);
      // Once both are dead, a cluster of another size may start.
      clock.advance(DEADLINE + 1);
      await p.registerHost(req("10.0.0.3:7000", 1));
      await assertRejects(p.registerHost(req("10.0.0.4:7000", 1)), ClusterFullError);
    },
  },
  {
    name: "cluster a draining host keeps its placements but gets no new ones",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const kept = await lookup(p, "A", "kept");
      assert.equal(kept.hostId, h1);
      await p.setHostDraining(h1);
      await p.setHostDraining("unknown-host");
      assert.deepEqual(await lookup(p, "A", "kept"), kept);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      for (let i = 0; i < 20; i++) assert.equal((await lookup(p, "A", `new-${i}`)).hostId, h2);
      assert.deepEqual((await p.listHosts(DEADLINE)).map((h) => h.hostId).sort(), [h1, h2].sort());
      await p.heartbeat(h1, DEADLINE);
    },
  },
  {
    name: "cluster a draining host leases no alarm of an actor it would have to place",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await lookup(p, "A", "mine");
      await p.setAlarm("A", "mine", "x", { dueTime: clock.now() });
      await p.setAlarm("A", "unplaced", "x", { dueTime: clock.now() });
      await p.setHostDraining(h1);
      const leases = await fetchFor(p, h1);
      assert.deepEqual(leases.map((l) => l.actorId), ["mine"]);
    },
  },
  {
    name: "cluster evictHost removes an unreachable host with its placements",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      const placed = await lookup(p, "A", "a1", { allowedHostIds: [h1] });
      assert.equal(placed.hostId, h1);
      assert.equal(await p.evictHost("unknown-host"), false);
      assert.equal(await p.evictHost(h1), true);
      assert.deepEqual((await p.listHosts(DEADLINE)).map((h) => h.hostId), [h2]);
      assert.equal((await lookup(p, "A", "a1")).hostId, h2);
      await assertRejects(p.heartbeat(h1, DEADLINE), HostUnregisteredError);
    },
  },
  {
    name: "cluster fenced setState and deleteState succeed only on the placed host",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await lookup(p, "A", "a1");
      await p.setState({ actorType: "A", actorId: "a1", data: bytes(1), fenceHostId: h1 });
      // The placement moves: h1 is declared dead and h2 takes the actor over.
      clock.advance(DEADLINE + 1);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      assert.equal((await lookup(p, "A", "a1")).hostId, h2);
      await p.setState({ actorType: "A", actorId: "a1", data: bytes(2), fenceHostId: h2 });
      await assertRejects(
        p.setState({ actorType: "A", actorId: "a1", data: bytes(9), fenceHostId: h1 }),
        PlacementLostError,
      );
      assert.deepEqual(await p.getState("A", "a1"), bytes(2));
      await assertRejects(p.deleteState("A", "a1", { fenceHostId: h1 }), PlacementLostError);
      assert.deepEqual(await p.getState("A", "a1"), bytes(2));
      // An unplaced actor is fenced too; an unfenced write is not.
      await assertRejects(
        p.setState({ actorType: "A", actorId: "nobody", data: bytes(3), fenceHostId: h2 }),
        PlacementLostError,
      );
      await p.setState({ actorType: "A", actorId: "nobody", data: bytes(3) });
      await p.deleteState("A", "a1", { fenceHostId: h2 });
      await p.deleteState("A", "nobody");
    },
  },
  {
    name: "cluster claimOnce grants a key once until its claim expires",
    async fn({ provider: p, clock }) {
      const until = clock.now() + 1_000;
      assert.equal(await p.claimOnce("jti:a", until), true);
      assert.equal(await p.claimOnce("jti:a", until), false);
      assert.equal(await p.claimOnce("jti:b", until), true);
      const results = await Promise.all(Array.from({ length: 20 }, () => p.claimOnce("jti:c", until)));
      assert.equal(results.filter((r) => r).length, 1, "concurrent claims: exactly one wins");
      clock.advance(1_000);
      assert.equal(await p.claimOnce("jti:a", clock.now() + 1_000), true, "an expired claim may be made again");
    },
  },
];
