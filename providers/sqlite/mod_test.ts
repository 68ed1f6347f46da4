import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { isFrancisError } from "../../errors.ts";
import { createSqliteProvider, resolveSqliteProviderOptions, SQLITE_PROVIDER_DEFAULTS } from "./mod.ts";

Deno.test("resolveSqliteProviderOptions() applies the documented defaults", () => {
  const resolved = resolveSqliteProviderOptions();
  assert.equal(resolved.path, "data.db");
  assert.equal(resolved.database, undefined);
  assert.equal(resolved.busyTimeoutMs, 2500);
  assert.equal(resolved.cleanupIntervalMs, 600_000);
  assert.equal(resolved.tablePrefix, "francis");
  assert.equal(resolved.synchronous, "normal");
  assert.equal(typeof resolved.clock.now(), "number");
  assert.equal(SQLITE_PROVIDER_DEFAULTS.path, "data.db");
});

Deno.test("createSqliteProvider() rejects malformed options with TypeError or RangeError", () => {
  const cases: [Record<string, unknown>, ErrorConstructor, RegExp][] = [
    [{ busyTimeoutMs: 0 }, RangeError, /^Cannot create SQLite provider: busyTimeoutMs must be an integer from 1/],
    [{ busyTimeoutMs: 1.5 }, RangeError, /busyTimeoutMs/],
    [{ busyTimeoutMs: Infinity }, RangeError, /busyTimeoutMs/],
    [{ busyTimeoutMs: "5" }, TypeError, /busyTimeoutMs must be a number \(got "5"\)/],
    [{ cleanupIntervalMs: 0 }, RangeError, /cleanupIntervalMs must be an integer from 1 to \d+, or Infinity \(got 0\)/],
    [{ cleanupIntervalMs: -Infinity }, RangeError, /cleanupIntervalMs/],
    [{ cleanupIntervalMs: NaN }, TypeError, /cleanupIntervalMs/],
    [{ tablePrefix: "Francis" }, TypeError, /tablePrefix must match .* \(got "Francis"\)/],
    [{ tablePrefix: "1abc" }, TypeError, /tablePrefix/],
    [{ tablePrefix: "a".repeat(33) }, TypeError, /tablePrefix/],
    [{ tablePrefix: "x; DROP TABLE y" }, TypeError, /tablePrefix/],
    [{ synchronous: "off" }, TypeError, /synchronous must be "normal" or "full" \(got "off"\)/],
    [{ clock: {} }, TypeError, /clock must have a now\(\) method/],
    [{ path: "" }, TypeError, /path must be a non-empty string/],
    [{ path: 42 }, TypeError, /path/],
    [{ path: new URL("https://example.com/x.db") }, TypeError, /path URL must use "file:" \(got "https:"\)/],
    [{ database: {} }, TypeError, /database must be a node:sqlite DatabaseSync/],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => createSqliteProvider(options), (err: unknown) => {
      assert.ok(err instanceof type, `${JSON.stringify(options)}: expected ${type.name}, got ${err}`);
      assert.match((err as Error).message, message);
      assert.doesNotMatch((err as Error).message, /\.$/);
      return true;
    });
  }
});

Deno.test("createSqliteProvider() accepts the valid edge values", () => {
  createSqliteProvider({ path: ":memory:", busyTimeoutMs: 1, cleanupIntervalMs: Infinity, tablePrefix: "a" });
  createSqliteProvider({ path: new URL("file:///tmp/x.db"), cleanupIntervalMs: 1, tablePrefix: "a".repeat(32) });
  createSqliteProvider({ synchronous: "full", tablePrefix: "f_1" });
});

Deno.test("createSqliteProvider() makes path and database mutually exclusive", () => {
  const db = new DatabaseSync(":memory:");
  try {
    assert.throws(
      () => createSqliteProvider({ path: ":memory:", database: db }),
      (err: unknown) => err instanceof TypeError && /path and database are mutually exclusive/.test(err.message),
    );
  } finally {
    db.close();
  }
});

Deno.test("createSqliteProvider() rejects a database with foreign keys off", () => {
  const db = new DatabaseSync(":memory:", { enableForeignKeyConstraints: false });
  try {
    assert.throws(
      () => createSqliteProvider({ database: db }),
      (err: unknown) => err instanceof TypeError && /database must have foreign keys on/.test(err.message),
    );
    assert.equal(db.isOpen, true);
  } finally {
    db.close();
  }
});

Deno.test("createSqliteProvider() never closes a supplied database", async () => {
  const db = new DatabaseSync(":memory:");
  try {
    const provider = createSqliteProvider({ database: db, cleanupIntervalMs: Infinity });
    await provider.acquire();
    await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([5]) });
    await provider.release();
    assert.equal(db.isOpen, true);
    const row = db.prepare("SELECT count(*) AS n FROM francis_state").get() as { n: number };
    assert.equal(row.n, 1);
    // Acquiring again reuses the same connection and sees the data.
    await provider.acquire();
    assert.deepEqual(await provider.getState("T", "a"), new Uint8Array([5]));
    await provider.release();
    assert.equal(db.isOpen, true);
  } finally {
    db.close();
  }
});

Deno.test("createSqliteProvider() opens a file: URL path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const url = new URL(`file://${dir}/with space.db`);
    const provider = createSqliteProvider({ path: url, cleanupIntervalMs: Infinity });
    await provider.acquire();
    await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]) });
    await provider.release();
    assert.ok((await Deno.stat(`${dir}/with space.db`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createSqliteProvider() applies WAL, busy_timeout, foreign keys, synchronous and temp_store", async () => {
  const dir = await Deno.makeTempDir();
  const db = new DatabaseSync(`${dir}/p.db`);
  try {
    const provider = createSqliteProvider({ database: db, busyTimeoutMs: 1234, synchronous: "full" });
    await provider.acquire();
    const pragma = (name: string): unknown => Object.values(db.prepare(`PRAGMA ${name}`).get()!)[0];
    assert.equal(pragma("journal_mode"), "wal");
    assert.equal(pragma("busy_timeout"), 1234);
    assert.equal(pragma("foreign_keys"), 1);
    assert.equal(pragma("synchronous"), 2);
    assert.equal(pragma("temp_store"), 2);
    await provider.release();
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createSqliteProvider() uses tablePrefix for every table", async () => {
  const db = new DatabaseSync(":memory:");
  try {
    const provider = createSqliteProvider({ database: db, tablePrefix: "acme", cleanupIntervalMs: Infinity });
    await provider.acquire();
    await provider.release();
    const names = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]).map((r) => r.name);
    assert.deepEqual(names, [
      "acme_active_actors",
      "acme_alarms",
      "acme_claims",
      "acme_dead_jobs",
      "acme_host_actor_types",
      "acme_hosts",
      "acme_jobs",
      "acme_metadata",
      "acme_state",
    ]);
  } finally {
    db.close();
  }
});

Deno.test("SqliteProvider methods reject with ProviderError before acquire and after the final release", async () => {
  const provider = createSqliteProvider({ path: ":memory:", cleanupIntervalMs: Infinity });
  const before = provider.getState("T", "a");
  await assert.rejects(before, (err: unknown) => isFrancisError(err, "provider_error"));
  await provider.acquire();
  await provider.acquire();
  await provider.release();
  await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]) });
  await provider.release();
  await provider.release(); // idempotent past zero
  await assert.rejects(provider.getState("T", "a"), (err: unknown) => {
    assert.ok(isFrancisError(err, "provider_error"));
    assert.match((err as Error).message, /^Cannot get state: the SQLite provider is not acquired$/);
    return true;
  });
});

Deno.test("SqliteProvider acquire() rejects with ProviderError when the file cannot be opened", async () => {
  const provider = createSqliteProvider({ path: "/nonexistent-francis-dir/sub/x.db" });
  await assert.rejects(provider.acquire(), (err: unknown) => {
    assert.ok(isFrancisError(err, "provider_error"), String(err));
    assert.match((err as Error).message, /^Cannot open SQLite provider: /);
    assert.ok((err as Error).cause instanceof Error);
    return true;
  });
  await provider.release();
});

Deno.test("SqliteProvider concurrent acquire() calls share one connection", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const provider = createSqliteProvider({ path: `${dir}/p.db` });
    await Promise.all([provider.acquire(), provider.acquire(), provider.acquire()]);
    await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]) });
    await provider.release();
    await provider.release();
    assert.deepEqual(await provider.getState("T", "a"), new Uint8Array([1]));
    await provider.release();
    await assert.rejects(provider.getState("T", "a"), (err: unknown) => isFrancisError(err, "provider_error"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("importing the SQLite provider module loads node:sqlite only dynamically, from driver.ts", async () => {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(success);
  const graph = JSON.parse(new TextDecoder().decode(stdout)) as {
    modules: { specifier: string; dependencies?: { specifier: string; code?: unknown; isDynamic?: boolean }[] }[];
  };
  const importers = graph.modules.flatMap((m) =>
    (m.dependencies ?? []).filter((d) => d.specifier === "node:sqlite").map((d) => ({ from: m.specifier, dep: d }))
  );
  assert.deepEqual(importers.map((i) => i.from.replace(/^.*\/providers\//, "")), ["sqlite/driver.ts"]);
  assert.equal(importers[0].dep.isDynamic, true, "node:sqlite must be loaded with await import()");
});
