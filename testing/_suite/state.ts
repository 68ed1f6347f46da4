/**
 * Conformance cases for actor state and `listStates` (Go catalogue ST, LS;
 * C-25..C-28).
 *
 * @module
 */

import assert from "node:assert/strict";
import { StateNotFoundError } from "../../errors.ts";
import type { ActorProvider } from "../../providers/types.ts";
import { assertRejects, type SuiteCase, text, utf8 } from "./helpers.ts";

function set(p: ActorProvider, actorType: string, actorId: string, value: string, ttlMs?: number): Promise<void> {
  return p.setState({ actorType, actorId, data: utf8(value), ...(ttlMs === undefined ? {} : { ttlMs }) });
}

async function read(p: ActorProvider, actorType: string, actorId: string): Promise<string | undefined> {
  return text(await p.getState(actorType, actorId));
}

async function ids(p: ActorProvider, actorType: string): Promise<string[]> {
  const page = await p.listStates({ actorType, limit: 1000, includeData: false });
  return page.entries.map((e) => e.actorId);
}

/** State cases. */
export const stateCases: SuiteCase[] = [
  {
    name: "state getState and deleteState of absent state throw StateNotFoundError",
    async fn({ provider: p }) {
      await assertRejects(p.getState("A", "a1"), StateNotFoundError, "getState");
      await assertRejects(p.deleteState("A", "a1"), StateNotFoundError, "deleteState");
    },
  },
  {
    name: "state set, get, overwrite and delete",
    async fn({ provider: p }) {
      await set(p, "A", "a1", "hello world");
      assert.equal(await read(p, "A", "a1"), "hello world");
      await set(p, "A", "a1", "goodbye");
      assert.equal(await read(p, "A", "a1"), "goodbye");
      await p.setState({ actorType: "A", actorId: "a1", data: new Uint8Array() });
      const empty = await p.getState("A", "a1");
      assert.ok(empty instanceof Uint8Array);
      assert.equal(empty.length, 0, "empty bytes are a value, not an absence");
      await p.deleteState("A", "a1");
      await assertRejects(p.getState("A", "a1"), StateNotFoundError, "after delete");
      await assertRejects(p.deleteState("A", "a1"), StateNotFoundError, "second delete");
    },
  },
  {
    name: "state keeps bytes exactly and copies them in and out",
    async fn({ provider: p }) {
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      const input = all.slice();
      await p.setState({ actorType: "A", actorId: "a1", data: input });
      input.fill(7);
      const out = await p.getState("A", "a1");
      assert.deepEqual([...out], [...all]);
      out.fill(9);
      assert.deepEqual([...await p.getState("A", "a1")], [...all]);
      const view = new Uint8Array(new Uint8Array([1, 2, 3, 4, 5]).buffer, 1, 3);
      await p.setState({ actorType: "A", actorId: "view", data: view });
      assert.deepEqual([...await p.getState("A", "view")], [2, 3, 4], "a subarray stores only its own bytes");
    },
  },
  {
    name: "state of one actor ID under different types is independent",
    async fn({ provider: p }) {
      await set(p, "A", "x", "from A");
      await set(p, "B", "x", "from B");
      await p.deleteState("A", "x");
      assert.equal(await read(p, "B", "x"), "from B");
      await assertRejects(p.getState("A", "x"), StateNotFoundError);
    },
  },
  {
    name: "state TTL expires",
    async fn({ provider: p, clock }) {
      await set(p, "A", "a1", "short", 1_000);
      assert.equal(await read(p, "A", "a1"), "short");
      clock.advance(999);
      assert.equal(await read(p, "A", "a1"), "short");
      clock.advance(1);
      await assertRejects(p.getState("A", "a1"), StateNotFoundError, "at now + ttlMs the value has expired");
      assert.deepEqual(await ids(p, "A"), []);
    },
  },
  {
    name: "state overwrite without ttlMs clears the expiry",
    async fn({ provider: p, clock }) {
      await set(p, "A", "a1", "first", 1_000);
      await set(p, "A", "a1", "second");
      clock.advance(10 * 86_400_000);
      assert.equal(await read(p, "A", "a1"), "second");
    },
  },
  {
    name: "state overwrite with a new ttlMs restarts the expiry",
    async fn({ provider: p, clock }) {
      await set(p, "A", "a1", "first", 2_000);
      clock.advance(1_000);
      await set(p, "A", "a1", "second", 2_000);
      clock.advance(1_200);
      assert.equal(await read(p, "A", "a1"), "second");
      clock.advance(1_200);
      await assertRejects(p.getState("A", "a1"), StateNotFoundError);
    },
  },
  {
    name: "state deleteState of expired state throws StateNotFoundError",
    async fn({ provider: p, clock }) {
      await set(p, "A", "a1", "v", 1_000);
      clock.advance(1_500);
      await assertRejects(p.deleteState("A", "a1"), StateNotFoundError);
      await set(p, "A", "a1", "again");
      assert.equal(await read(p, "A", "a1"), "again", "an expired row can be written again");
    },
  },
  {
    name: "state deleteState removes state with a live TTL",
    async fn({ provider: p }) {
      await set(p, "A", "a1", "v", 3_600_000);
      await p.deleteState("A", "a1");
      await assertRejects(p.getState("A", "a1"), StateNotFoundError);
      await assertRejects(p.deleteState("A", "a1"), StateNotFoundError);
    },
  },
  {
    name: "state listStates is empty without state",
    async fn({ provider: p }) {
      assert.deepEqual(await p.listStates({ actorType: "A", limit: 10, includeData: true }), {
        entries: [],
        hasMore: false,
      });
    },
  },
  {
    name: "state listStates orders by UTF-16 code unit and lists only the given type",
    async fn({ provider: p }) {
      const actorIds = ["B", "a", "é", "10", "9", "Z", "\u{1F600}", "\uFF5A", "a0", "A"];
      for (const id of actorIds) await set(p, "T", id, id);
      await set(p, "Other", "0", "x");
      // Code-unit order puts the surrogate pair of U+1F600 (0xD83D) before U+FF5A; code-point order would not.
      assert.deepEqual(await ids(p, "T"), ["10", "9", "A", "B", "Z", "a", "a0", "é", "\u{1F600}", "\uFF5A"]);
      assert.deepEqual(await ids(p, "Other"), ["0"]);
    },
  },
  {
    name: "state listStates includes data only when asked and copies it",
    async fn({ provider: p }) {
      await set(p, "A", "actor-01", "hello world");
      await p.setState({ actorType: "A", actorId: "actor-02", data: new Uint8Array() });
      const bare = await p.listStates({ actorType: "A", limit: 10, includeData: false });
      assert.deepEqual(bare.entries.map((e) => [e.actorId, e.data]), [["actor-01", undefined], [
        "actor-02",
        undefined,
      ]]);
      const full = await p.listStates({ actorType: "A", limit: 10, includeData: true });
      assert.deepEqual(full.entries.map((e) => [e.actorId, text(e.data)]), [["actor-01", "hello world"], [
        "actor-02",
        "",
      ]]);
      full.entries[0].data!.fill(0);
      assert.equal(await read(p, "A", "actor-01"), "hello world");
    },
  },
  {
    name: "state listStates pages with after and limit",
    async fn({ provider: p }) {
      for (let i = 5; i >= 1; i--) await set(p, "A", `actor-0${i}`, `data-0${i}`);
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0;; pages++) {
        assert.ok(pages < 5, "paging does not terminate");
        const page = await p.listStates({ actorType: "A", after, limit: 2, includeData: true });
        assert.ok(page.entries.length <= 2);
        for (const e of page.entries) assert.equal(text(e.data), e.actorId.replace("actor", "data"));
        seen.push(...page.entries.map((e) => e.actorId));
        if (!page.hasMore) break;
        after = page.entries.at(-1)!.actorId;
      }
      assert.deepEqual(seen, ["actor-01", "actor-02", "actor-03", "actor-04", "actor-05"]);
      const tail = await p.listStates({ actorType: "A", after: "actor-02a", limit: 10, includeData: false });
      assert.deepEqual(tail.entries.map((e) => e.actorId), ["actor-03", "actor-04", "actor-05"]);
      assert.deepEqual(await p.listStates({ actorType: "A", after: "actor-05", limit: 10, includeData: false }), {
        entries: [],
        hasMore: false,
      });
      const exact = await p.listStates({ actorType: "A", after: "actor-03", limit: 2, includeData: false });
      assert.deepEqual([exact.entries.length, exact.hasMore], [2, false], "a full last page has hasMore false");
    },
  },
  {
    name: "state listStates skips expired and deleted state",
    async fn({ provider: p, clock }) {
      await set(p, "A", "actor-01", "v", 1_000);
      await set(p, "A", "actor-02", "v", 3_600_000);
      await set(p, "A", "actor-03", "v");
      await set(p, "A", "actor-04", "v");
      await p.deleteState("A", "actor-04");
      assert.deepEqual(await ids(p, "A"), ["actor-01", "actor-02", "actor-03"]);
      clock.advance(1_200);
      assert.deepEqual(await ids(p, "A"), ["actor-02", "actor-03"]);
      await set(p, "A", "actor-04", "v", 1_000);
      clock.advance(1_000);
      const page = await p.listStates({ actorType: "A", limit: 2, includeData: false });
      assert.deepEqual([page.entries.map((e) => e.actorId), page.hasMore], [["actor-02", "actor-03"], false]);
    },
  },
  {
    name: "state listStates rejects a limit outside 1 to 1000 with RangeError",
    async fn({ provider: p }) {
      await assertRejects(p.listStates({ actorType: "A", limit: 0, includeData: false }), RangeError, "0");
      await assertRejects(p.listStates({ actorType: "A", limit: 1001, includeData: false }), RangeError, "1001");
      await p.listStates({ actorType: "A", limit: 1000, includeData: false });
    },
  },
];
