/**
 * Conformance cases for `cleanup` and for the provider lifecycle
 * (`acquire`/`release` reference counting).
 *
 * @module
 */

import assert from "node:assert/strict";
import { ActorNotActiveError, AlarmNotFoundError, ProviderError, StateNotFoundError } from "../../errors.ts";
import type { ActorProvider } from "../../providers/types.ts";
import { addHost, assertRejects, DEADLINE, fetchFor, lookup, setAlarmIn, type SuiteCase, utf8 } from "./helpers.ts";

/** Calls a spread of methods and expects each to reject with `ProviderError`. */
async function assertUnavailable(p: ActorProvider, context: string): Promise<void> {
  const calls: [string, () => Promise<unknown>][] = [
    [
      "registerHost",
      () => p.registerHost({ address: "10.0.0.1:7000", actorTypes: [], healthCheckDeadlineMs: DEADLINE }),
    ],
    ["listHosts", () => p.listHosts(DEADLINE)],
    ["lookupActor", () => lookup(p, "A", "a1")],
    ["getState", () => p.getState("A", "a1")],
    ["setState", () => p.setState({ actorType: "A", actorId: "a1", data: utf8("x") })],
    ["getAlarm", () => p.getAlarm("A", "a1", "n")],
    ["cleanup", () => p.cleanup({ healthCheckDeadlineMs: DEADLINE })],
  ];
  for (const [method, call] of calls) await assertRejects(call(), ProviderError, `${method} ${context}`);
}

/** Cleanup and lifecycle cases. */
export const maintenanceCases: SuiteCase[] = [
  {
    name: "cleanup removes expired state and dead hosts and returns counts",
    async fn({ provider: p, clock }) {
      const dead = await addHost(p, "10.0.0.1:7000", ["A"]);
      await addHost(p, "10.0.0.2:7000", ["A"]);
      const live = await addHost(p, "10.0.0.3:7000", ["A"]);
      await p.setState({ actorType: "A", actorId: "short", data: utf8("x"), ttlMs: 1_000 });
      await p.setState({ actorType: "B", actorId: "short", data: utf8("x"), ttlMs: 2_000 });
      await p.setState({ actorType: "A", actorId: "long", data: utf8("x"), ttlMs: 3_600_000 });
      await p.setState({ actorType: "A", actorId: "forever", data: utf8("x") });
      clock.advance(40_000);
      await p.heartbeat(live, DEADLINE);
      clock.advance(30_000);
      assert.deepEqual(await p.cleanup({ healthCheckDeadlineMs: DEADLINE }), { expiredStates: 2, deadHosts: 2 });
      assert.deepEqual(await p.cleanup({ healthCheckDeadlineMs: DEADLINE }), { expiredStates: 0, deadHosts: 0 });
      assert.deepEqual((await p.listHosts(DEADLINE)).map((h) => h.hostId), [live]);
      const page = await p.listStates({ actorType: "A", limit: 10, includeData: false });
      assert.deepEqual(page.entries.map((e) => e.actorId), ["forever", "long"]);
      await assertRejects(p.getState("B", "short"), StateNotFoundError);
      // The dead host's address is free again.
      assert.notEqual(await addHost(p, "10.0.0.1:7000"), dead);
    },
  },
  {
    name: "cleanup of a dead host clears its placements and alarm leases",
    async fn({ provider: p, clock }) {
      const h1 = await addHost(p, "10.0.0.1:7000", ["A"]);
      const h2 = await addHost(p, "10.0.0.2:7000", ["A"]);
      await setAlarmIn(p, clock, ["A", "a1", "n"], 0);
      const [lease] = await fetchFor(p, h1, { leaseDurationMs: 3_600_000 });
      assert.equal((await lookup(p, "A", "a1", { activeOnly: true })).hostId, h1);
      clock.advance(40_000);
      await p.heartbeat(h2, DEADLINE);
      clock.advance(30_000);
      assert.deepEqual(await p.cleanup({ healthCheckDeadlineMs: DEADLINE }), { expiredStates: 0, deadHosts: 1 });
      await assertRejects(p.getLeasedAlarm(lease), AlarmNotFoundError);
      await assertRejects(lookup(p, "A", "a1", { activeOnly: true }), ActorNotActiveError);
      assert.deepEqual((await fetchFor(p, h2)).map((l) => l.actorId), ["a1"]);
    },
  },
  {
    name: "cleanup with nothing to remove returns zero counts",
    async fn({ provider: p }) {
      await addHost(p, "10.0.0.1:7000", ["A"]);
      await p.setState({ actorType: "A", actorId: "a1", data: utf8("x"), ttlMs: 60_000 });
      assert.deepEqual(await p.cleanup({ healthCheckDeadlineMs: DEADLINE }), { expiredStates: 0, deadHosts: 0 });
      assert.equal((await p.listHosts(DEADLINE)).length, 1);
    },
  },
  {
    name: "lifecycle calls before acquire reject with ProviderError",
    manualAcquire: true,
    async fn({ provider: p }) {
      await assertUnavailable(p, "before acquire");
    },
  },
  {
    name: "lifecycle acquire counts references and calls after the last release reject",
    manualAcquire: true,
    async fn({ provider: p }) {
      await p.acquire();
      try {
        await p.acquire();
        await p.setState({ actorType: "A", actorId: "a1", data: utf8("x") });
        await p.release();
        await p.listHosts(DEADLINE);
        await assertRejects(p.getState("A", "missing"), StateNotFoundError, "still acquired once");
      } finally {
        await p.release();
      }
      await assertUnavailable(p, "after the last release");
      await p.release();
      await assertUnavailable(p, "after an extra release");
    },
  },
];
