/**
 * One runtime per SQLite store (API.md §19.1), in process: the sidecar lock
 * of `_replica_lock.ts` and `startRuntime` refusing a second runtime on the
 * same file. The multi-process case (a second CLI process, SIGKILL, restart)
 * is `tests/runtime_replica_lock_test.ts`.
 */

import assert from "node:assert/strict";
import { isFrancisError } from "../errors.ts";
import { generatePsk } from "../_internal/psk.ts";
import { lockSqliteStore, replicaLockPath } from "./_replica_lock.ts";
import { startRuntime } from "./runtime.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "francis-lock-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("replica lock: a second lock on the same store is refused until the first is released", async () => {
  await withDir(async (dir) => {
    const db = `${dir}/francis.db`;
    const first = await lockSqliteStore(db);
    assert.ok(first !== undefined);
    assert.equal(first.path, `${db}.runtime.lock`);
    assert.equal((await Deno.readTextFile(first.path)).trim(), String(Deno.pid));
    await assert.rejects(lockSqliteStore(db), (err) => {
      assert.ok(isFrancisError(err, "provider_error"));
      assert.match(
        err.message,
        new RegExp(`another runtime process \\(pid ${Deno.pid}\\) is using the SQLite store .*francis\\.db`),
      );
      assert.match(err.message, /exactly one runtime replica/);
      return true;
    });
    await lockSqliteStore(new URL(`file://${db}`)).then(
      () => assert.fail("a file: URL names the same store"),
      (err) => assert.ok(isFrancisError(err, "provider_error")),
    );
    assert.ok((await lockSqliteStore(`${dir}/other.db`).then((l) => l?.release().then(() => true))) === true);
    await first.release();
    await first.release(); // idempotent
    const again = await lockSqliteStore(db);
    assert.ok(again !== undefined, "free again after release");
    await again.release();
    assert.equal(await lockSqliteStore(":memory:"), undefined, ":memory: is per process");
    assert.equal(replicaLockPath(new URL("file:///var/x.db")), "/var/x.db.runtime.lock");
  });
});

Deno.test("replica lock: startRuntime refuses a second runtime on one SQLite file until the first stops", async () => {
  await withDir(async (dir) => {
    const options = {
      bind: "127.0.0.1:0",
      runtimePsks: [generatePsk()],
      bootstrap: { method: "psk" as const, hostPsk: "worker-bootstrap-secret-123" },
      provider: { connectionString: `sqlite:${dir}/francis.db` },
      logger: QUIET,
    };
    const first = await startRuntime(options);
    try {
      await assert.rejects(startRuntime(options), (err) => isFrancisError(err, "provider_error"));
      await assert.rejects(
        startRuntime({ ...options, provider: { connectionString: `file://${dir}/francis.db` } }),
        (err) => isFrancisError(err, "provider_error"),
      );
      assert.equal(first.connectedHosts, 0);
    } finally {
      await first.stop();
    }
    const next = await startRuntime(options); // released by stop()
    await next.stop();
    // Memory stores are per process: two runtimes on "memory" are two separate stores, and both start.
    const memory = { ...options, provider: { connectionString: "memory" } };
    const [a, b] = [await startRuntime(memory), await startRuntime(memory)];
    await Promise.all([a.stop(), b.stop()]);
  });
});
