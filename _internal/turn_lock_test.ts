import assert from "node:assert/strict";
import { TurnLock } from "./turn_lock.ts";

Deno.test("TurnLock grants an uncontended turn synchronously", () => {
  const lock = new TurnLock();
  assert.equal(lock.tryAcquire(false), true);
  assert.equal(lock.tryAcquire(false), false);
  assert.equal(lock.tryAcquire(true), false);
  lock.release(false);
  assert.equal(lock.tryAcquire(true), true);
  assert.equal(lock.tryAcquire(true), true);
  assert.equal(lock.tryAcquire(false), false);
});

Deno.test("TurnLock grants waiters in FIFO order and batches consecutive shared waiters", async () => {
  const lock = new TurnLock();
  const order: string[] = [];
  assert.ok(lock.tryAcquire(false));
  const w1 = lock.acquire(true).then(() => order.push("r1"));
  const w2 = lock.acquire(true).then(() => order.push("r2"));
  const w3 = lock.acquire(false).then(() => order.push("w3"));
  const w4 = lock.acquire(true).then(() => order.push("r4"));
  lock.release(false);
  await Promise.all([w1, w2]);
  assert.deepEqual(order, ["r1", "r2"]); // both readers admitted together; the writer waits
  lock.release(true);
  await Promise.resolve();
  assert.deepEqual(order, ["r1", "r2"]); // one reader still holds
  lock.release(true);
  await w3;
  assert.deepEqual(order, ["r1", "r2", "w3"]);
  lock.release(false);
  await w4;
  assert.deepEqual(order, ["r1", "r2", "w3", "r4"]);
  lock.release(true);
});

Deno.test("TurnLock never starves a waiting writer behind a stream of readers", async () => {
  const lock = new TurnLock();
  assert.ok(lock.tryAcquire(true));
  let writerRan = false;
  const writer = lock.acquire(false).then(() => writerRan = true);
  // A reader arriving after a waiting writer must not be admitted before it.
  assert.equal(lock.tryAcquire(true), false);
  const lateReader = lock.acquire(true).then(() => assert.ok(writerRan, "late reader ran before the writer"));
  lock.release(true);
  await writer;
  lock.release(false);
  await lateReader;
  lock.release(true);
});

Deno.test("TurnLock removes an aborted waiter and grants the next one", async () => {
  const lock = new TurnLock();
  assert.ok(lock.tryAcquire(false));
  const ac = new AbortController();
  const aborted = lock.acquire(false, ac.signal);
  const next = lock.acquire(false);
  ac.abort(new Error("gone"));
  await assert.rejects(aborted, /gone/);
  lock.release(false);
  await next;
  lock.release(false);
  assert.equal(lock.busy, false);
});

Deno.test("TurnLock close rejects waiters, refuses new ones and reports idle after the holder leaves", async () => {
  const lock = new TurnLock();
  assert.ok(lock.tryAcquire(false));
  const waiting = lock.acquire(true);
  lock.close(new Error("halted"));
  await assert.rejects(waiting, /halted/);
  await assert.rejects(lock.acquire(false), /halted/);
  assert.equal(lock.tryAcquire(true), false);
  let idle = false;
  const whenIdle = lock.whenIdle().then(() => idle = true);
  await Promise.resolve();
  assert.equal(idle, false);
  lock.release(false);
  await whenIdle;
});
