import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { isFrancisError } from "../../errors.ts";
import { WriteQueue } from "./batch.ts";

function setup(): { db: DatabaseSync; queue: WriteQueue; rows(): number[] } {
  const db = new DatabaseSync(":memory:");
  db.exec("CREATE TABLE t (x INTEGER NOT NULL PRIMARY KEY) STRICT");
  const queue = new WriteQueue(db);
  const select = db.prepare("SELECT x FROM t ORDER BY x");
  return { db, queue, rows: () => (select.all() as { x: number }[]).map((r) => r.x) };
}

Deno.test("WriteQueue runs the writes of one turn in one transaction, in enqueue order", async () => {
  const { db, queue, rows } = setup();
  try {
    const order: number[] = [];
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        queue.enqueue((d) => {
          assert.equal(d.isTransaction, true);
          order.push(i);
          insert.run(i);
          return i * 2;
        })),
    );
    assert.deepEqual(results, Array.from({ length: 50 }, (_, i) => i * 2));
    assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(queue.stats, { batches: 1, writes: 50 });
    assert.equal(rows().length, 50);
  } finally {
    queue.close();
    db.close();
  }
});

Deno.test("WriteQueue settles a write only after COMMIT", async () => {
  const { db, queue, rows } = setup();
  try {
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    const done = queue.enqueue(() => insert.run(1));
    assert.deepEqual(rows(), [], "nothing runs before the next macrotask");
    await done;
    assert.equal(db.isTransaction, false);
    assert.deepEqual(rows(), [1]);
  } finally {
    queue.close();
    db.close();
  }
});

Deno.test("WriteQueue flushes at once when maxBatchSize writes are queued", async () => {
  const db = new DatabaseSync(":memory:");
  const queue = new WriteQueue(db, { maxBatchSize: 10 });
  try {
    const writes = Array.from({ length: 25 }, () => queue.enqueue(() => 1));
    assert.deepEqual(queue.stats, { batches: 2, writes: 20 });
    await Promise.all(writes);
    assert.deepEqual(queue.stats, { batches: 3, writes: 25 });
  } finally {
    queue.close();
    db.close();
  }
});

Deno.test("WriteQueue rolls a failing write back alone and rejects only its promise", async () => {
  const { db, queue, rows } = setup();
  try {
    const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
    const a = queue.enqueue(() => insert.run(1));
    const bad = queue.enqueue(() => {
      insert.run(2); // applied, then undone by the savepoint
      insert.run(1); // UNIQUE violation
    });
    const thrown = queue.enqueue(() => {
      insert.run(3);
      throw new RangeError("nope");
    });
    const c = queue.enqueue(() => insert.run(4));
    const settled = await Promise.allSettled([a, bad, thrown, c]);
    assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected", "rejected", "fulfilled"]);
    assert.match(String((settled[1] as PromiseRejectedResult).reason), /UNIQUE constraint failed/);
    assert.ok((settled[2] as PromiseRejectedResult).reason instanceof RangeError);
    assert.deepEqual(rows(), [1, 4]);
    assert.equal(queue.stats.batches, 1);
  } finally {
    queue.close();
    db.close();
  }
});

Deno.test("WriteQueue rejects the whole batch with ProviderError when COMMIT fails, applying nothing", async () => {
  const db = new DatabaseSync(":memory:");
  db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
           CREATE TABLE child (id INTEGER PRIMARY KEY,
             parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`);
  const queue = new WriteQueue(db);
  try {
    const ok = queue.enqueue((d) => d.prepare("INSERT INTO parent (id) VALUES (1)").run());
    // A deferred foreign key is checked only at COMMIT, so this write fails the commit.
    const orphan = queue.enqueue((d) => d.prepare("INSERT INTO child (id, parent) VALUES (1, 99)").run());
    const settled = await Promise.allSettled([ok, orphan]);
    for (const s of settled) {
      assert.equal(s.status, "rejected");
      const reason = (s as PromiseRejectedResult).reason;
      assert.ok(isFrancisError(reason, "provider_error"), String(reason));
      assert.match(reason.message, /^Cannot commit write batch: FOREIGN KEY constraint failed/);
      assert.ok(reason.cause instanceof Error);
    }
    assert.equal(db.isTransaction, false);
    assert.deepEqual({ ...db.prepare("SELECT count(*) AS n FROM parent").get() }, { n: 0 });
    // The queue keeps working afterwards.
    await queue.enqueue((d) => d.prepare("INSERT INTO parent (id) VALUES (2)").run());
    assert.deepEqual({ ...db.prepare("SELECT count(*) AS n FROM parent").get() }, { n: 1 });
  } finally {
    queue.close();
    db.close();
  }
});

Deno.test("WriteQueue rejects the batch with ProviderError when another connection holds the write lock", async () => {
  const dir = await Deno.makeTempDir();
  const a = new DatabaseSync(`${dir}/q.db`);
  const b = new DatabaseSync(`${dir}/q.db`);
  a.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER PRIMARY KEY)");
  a.exec("PRAGMA busy_timeout = 20");
  const queue = new WriteQueue(a);
  try {
    b.exec("BEGIN IMMEDIATE");
    const write = queue.enqueue((d) => d.prepare("INSERT INTO t (x) VALUES (1)").run());
    await assert.rejects(write, (err: unknown) => {
      assert.ok(isFrancisError(err, "provider_error"), String(err));
      assert.match((err as Error).message, /^Cannot commit write batch: database is locked/);
      return true;
    });
    b.exec("ROLLBACK");
    assert.deepEqual({ ...a.prepare("SELECT count(*) AS n FROM t").get() }, { n: 0 });
    await queue.enqueue((d) => d.prepare("INSERT INTO t (x) VALUES (1)").run());
    assert.deepEqual({ ...b.prepare("SELECT count(*) AS n FROM t").get() }, { n: 1 });
  } finally {
    queue.close();
    a.close();
    b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WriteQueue.close() flushes queued writes, then rejects new ones", async () => {
  const { db, queue, rows } = setup();
  const insert = db.prepare("INSERT INTO t (x) VALUES (?)");
  const queued = queue.enqueue(() => insert.run(7));
  queue.close();
  await queued;
  assert.deepEqual(rows(), [7]);
  await assert.rejects(queue.enqueue(() => 1), (err: unknown) => isFrancisError(err, "provider_error"));
  db.close();
});
