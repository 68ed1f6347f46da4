/**
 * Conformance cases for host registration, health checks and listing
 * (Go catalogue RH, UH, UR, LH).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ActorNotActiveError, HostAlreadyRegisteredError, HostUnregisteredError } from "../../errors.ts";
import { addHost, assertRejects, DEADLINE, lookup, type SuiteCase, typeReg } from "./helpers.ts";

/** Host cases. */
export const hostCases: SuiteCase[] = [
  {
    name: "hosts registerHost returns a new ID and listHosts shows the host",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", [typeReg("TestActor", 10), typeReg("AnotherActor", 0, 120_000)]);
      assert.equal(typeof hostId, "string");
      assert.ok(hostId.length > 0);
      assert.deepEqual(await p.listHosts(DEADLINE), [
        { hostId, address: "10.0.0.1:7000", lastHealthCheck: clock.now(), actorTypes: ["AnotherActor", "TestActor"] },
      ]);
      const other = await addHost(p, "10.0.0.2:7000");
      assert.notEqual(other, hostId);
    },
  },
  {
    name: "hosts registerHost accepts a host with no actor types",
    async fn({ provider: p }) {
      const hostId = await addHost(p, "10.0.0.1:7000", []);
      const [host] = await p.listHosts(DEADLINE);
      assert.equal(host.hostId, hostId);
      assert.deepEqual(host.actorTypes, []);
    },
  },
  {
    name: "hosts registerHost rejects the address of a healthy host with HostAlreadyRegisteredError",
    async fn({ provider: p, clock }) {
      const first = await addHost(p, "10.0.0.1:7000", ["A"]);
      clock.advance(DEADLINE);
      await assertRejects(addHost(p, "10.0.0.1:7000", ["B"]), HostAlreadyRegisteredError);
      const hosts = await p.listHosts(DEADLINE);
      assert.deepEqual(hosts.map((h) => [h.hostId, h.actorTypes]), [[first, ["A"]]]);
    },
  },
  {
    name: "hosts registerHost reuses the address of a dead host",
    async fn({ provider: p, clock }) {
      const old = await addHost(p, "10.0.0.1:7000", ["A"]);
      clock.advance(DEADLINE + 1);
      const fresh = await addHost(p, "10.0.0.1:7000", [typeReg("NewActor", 8, 180_000)]);
      assert.notEqual(fresh, old);
      const hosts = await p.listHosts(DEADLINE);
      assert.deepEqual(hosts.map((h) => [h.hostId, h.actorTypes]), [[fresh, ["NewActor"]]]);
      await assertRejects(p.heartbeat(old, DEADLINE), HostUnregisteredError, "the old host is gone");
    },
  },
  {
    name: "hosts registerHost purges dead hosts and their placements",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await addHost(p, "10.0.0.2:7000", ["A"]);
      await lookup(p, "A", "a1");
      clock.advance(DEADLINE + 1);
      const h3 = await addHost(p, "10.0.0.3:7000", ["D"]);
      assert.deepEqual((await p.listHosts(DEADLINE)).map((h) => h.hostId), [h3]);
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError);
      await assertRejects(p.heartbeat(h1, 10 * DEADLINE), HostUnregisteredError, "purged, even with a longer deadline");
    },
  },
  {
    name: "hosts heartbeat refreshes lastHealthCheck and keeps the host alive",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
      clock.advance(40_000);
      await p.heartbeat(hostId, DEADLINE);
      const at = clock.now();
      clock.advance(40_000);
      const hosts = await p.listHosts(DEADLINE);
      assert.equal(hosts.length, 1);
      assert.equal(hosts[0].lastHealthCheck, at);
      await p.heartbeat(hostId, DEADLINE);
    },
  },
  {
    name: "hosts heartbeat of an unknown host throws HostUnregisteredError",
    async fn({ provider: p }) {
      await assertRejects(p.heartbeat("00000000-0000-4000-8000-000000000000", DEADLINE), HostUnregisteredError);
    },
  },
  {
    name: "hosts heartbeat of a dead host throws HostUnregisteredError and never revives it",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
      clock.advance(DEADLINE + 1);
      await assertRejects(p.heartbeat(hostId, DEADLINE), HostUnregisteredError, "first heartbeat");
      await assertRejects(p.heartbeat(hostId, DEADLINE), HostUnregisteredError, "second heartbeat");
      assert.deepEqual(await p.listHosts(DEADLINE), []);
    },
  },
  {
    name: "hosts a host stays healthy until its last check is older than the deadline",
    async fn({ provider: p, clock }) {
      const hostId = await addHost(p, "10.0.0.1:7000", ["A"]);
      clock.advance(DEADLINE);
      assert.equal((await p.listHosts(DEADLINE)).length, 1, "exactly at the deadline the host is healthy");
      clock.advance(1);
      assert.deepEqual(await p.listHosts(DEADLINE), [], "one ms later it is dead");
      await assertRejects(p.heartbeat(hostId, DEADLINE), HostUnregisteredError);
    },
  },
  {
    name: "hosts listHosts applies the deadline it is given",
    async fn({ provider: p, clock }) {
      await addHost(p, "10.0.0.1:7000");
      clock.advance(30_000);
      assert.equal((await p.listHosts(DEADLINE)).length, 1);
      assert.equal((await p.listHosts(10_000)).length, 0);
    },
  },
  {
    name: "hosts listHosts is empty without hosts",
    async fn({ provider: p }) {
      assert.deepEqual(await p.listHosts(DEADLINE), []);
    },
  },
  {
    name: "hosts listHosts returns healthy hosts sorted by hostId",
    async fn({ provider: p, clock }) {
      const dead = await addHost(p, "10.0.0.9:7000", ["X"]);
      clock.advance(40_000);
      const ids = [
        await addHost(p, "10.0.0.1:7000", ["A"]),
        await addHost(p, "10.0.0.2:7000", ["B", "A"]),
        await addHost(p, "10.0.0.3:7000"),
      ];
      clock.advance(30_000);
      const hosts = await p.listHosts(DEADLINE);
      assert.deepEqual(hosts.map((h) => h.hostId), [...ids].sort());
      assert.ok(!hosts.some((h) => h.hostId === dead));
      assert.deepEqual(hosts.find((h) => h.hostId === ids[1])?.actorTypes, ["A", "B"]);
      assert.equal(hosts.find((h) => h.hostId === ids[0])?.address, "10.0.0.1:7000");
    },
  },
  {
    name: "hosts unregisterHost removes the host and its placements",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      await lookup(p, "A", "a1");
      await p.unregisterHost(h1);
      assert.deepEqual(await p.listHosts(DEADLINE), []);
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError);
      await assertRejects(p.heartbeat(h1, DEADLINE), HostUnregisteredError);
      const again = await addHost(p, "10.0.0.1:7000", ["A"]);
      assert.notEqual(again, h1);
    },
  },
  {
    name: "hosts unregisterHost ignores unknown host IDs",
    async fn({ provider: p }) {
      const hostId = await addHost(p, "10.0.0.1:7000");
      await p.unregisterHost("00000000-0000-4000-8000-000000000000");
      assert.deepEqual((await p.listHosts(DEADLINE)).map((h) => h.hostId), [hostId]);
    },
  },
  {
    name: "hosts unregisterHost removes only the given host",
    async fn({ provider: p }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const h2 = await addHost(p, "10.0.0.2:7000", [typeReg("B", 2, 180_000)]);
      await p.unregisterHost(h1);
      const hosts = await p.listHosts(DEADLINE);
      assert.deepEqual(hosts.map((h) => [h.hostId, h.address, h.actorTypes]), [[h2, "10.0.0.2:7000", ["B"]]]);
      await p.heartbeat(h2, DEADLINE);
    },
  },
];
