import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { isFrancisError } from "../../errors.ts";
import { createSqliteProvider } from "./mod.ts";
import { migrate, MIGRATIONS, SCHEMA_VERSION } from "./migrations.ts";

function version(db: DatabaseSync, prefix = "francis"): number {
  const row = db.prepare(`SELECT value FROM ${prefix}_metadata WHERE key = 'schema_version'`).get() as
    | { value: string }
    | undefined;
  return Number(row?.value ?? 0);
}

function schema(db: DatabaseSync): string[] {
  return (db.prepare("SELECT type || ' ' || name AS item FROM sqlite_schema ORDER BY 1").all() as { item: string }[])
    .map((r) => r.item);
}

Deno.test("migrate() creates the schema once and is idempotent", () => {
  const db = new DatabaseSync(":memory:");
  try {
    assert.equal(migrate(db, "francis"), 0);
    assert.equal(version(db), SCHEMA_VERSION);
    const first = schema(db);
    assert.ok(first.includes("trigger francis_active_actors_clear_leases"));
    assert.ok(first.includes("index francis_state_expiration_idx"));
    assert.equal(migrate(db, "francis"), SCHEMA_VERSION);
    assert.equal(migrate(db, "francis"), SCHEMA_VERSION);
    assert.deepEqual(schema(db), first);
    assert.equal(db.isTransaction, false);
  } finally {
    db.close();
  }
});

Deno.test("migrate() runs only the migrations appended since the stored version", () => {
  const db = new DatabaseSync(":memory:");
  try {
    migrate(db, "francis");
    const next = [...MIGRATIONS, "CREATE TABLE {p}_extra (x INTEGER NOT NULL PRIMARY KEY) STRICT"];
    assert.equal(migrate(db, "francis", next), SCHEMA_VERSION);
    assert.equal(version(db), SCHEMA_VERSION + 1);
    assert.ok(schema(db).includes("table francis_extra"));
    assert.equal(migrate(db, "francis", next), SCHEMA_VERSION + 1);
  } finally {
    db.close();
  }
});

Deno.test("migrate() rolls a failing migration back entirely", () => {
  const db = new DatabaseSync(":memory:");
  try {
    migrate(db, "francis");
    const broken = [...MIGRATIONS, "CREATE TABLE {p}_half (x INTEGER) STRICT; THIS IS NOT SQL"];
    assert.throws(() => migrate(db, "francis", broken));
    assert.equal(version(db), SCHEMA_VERSION);
    assert.ok(!schema(db).includes("table francis_half"));
    assert.equal(db.isTransaction, false);
  } finally {
    db.close();
  }
});

Deno.test("migrate() keeps prefixes apart in one database", () => {
  const db = new DatabaseSync(":memory:");
  try {
    migrate(db, "one");
    migrate(db, "two");
    assert.equal(version(db, "one"), SCHEMA_VERSION);
    assert.equal(version(db, "two"), SCHEMA_VERSION);
  } finally {
    db.close();
  }
});

Deno.test("acquire() rejects with ProviderError when the schema is newer than supported", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/p.db`;
    const provider = createSqliteProvider({ path, cleanupIntervalMs: Infinity });
    await provider.acquire();
    await provider.setState({ actorType: "T", actorId: "a", data: new Uint8Array([1]) });
    await provider.release();

    const db = new DatabaseSync(path);
    db.prepare("UPDATE francis_metadata SET value = '7' WHERE key = 'schema_version'").run();
    db.close();

    await assert.rejects(provider.acquire(), (err: unknown) => {
      assert.ok(isFrancisError(err, "provider_error"), String(err));
      assert.equal(
        (err as Error).message,
        `Cannot open SQLite provider: schema version 7 is newer than supported version ${SCHEMA_VERSION}`,
      );
      return true;
    });
    // The failed acquire holds no reference: calls still reject, release is a no-op.
    await assert.rejects(provider.getState("T", "a"), (err: unknown) => isFrancisError(err, "provider_error"));
    await provider.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("acquire() of several providers on one new file migrates it once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/p.db`;
    const providers = Array.from({ length: 4 }, () => createSqliteProvider({ path, cleanupIntervalMs: Infinity }));
    await Promise.all(providers.map((p) => p.acquire()));
    const db = new DatabaseSync(path);
    assert.equal(version(db), SCHEMA_VERSION);
    db.close();
    await Promise.all(providers.map((p) => p.release()));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("migrate() repairs a store whose version 2 predates max_hosts and claims (an earlier release's schema)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-migrate-" });
  const path = `${dir}/old.db`;
  try {
    // The schema an earlier release wrote: version 1, then a version 2 that only added `draining`.
    const old = new DatabaseSync(path);
    const oldV2 = "ALTER TABLE {p}_hosts ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;";
    migrate(old, "francis", [MIGRATIONS[0], oldV2]);
    old.close();
    const provider = createSqliteProvider({ path });
    await provider.acquire();
    try {
      await provider.registerHost({
        hostId: "h1",
        address: "127.0.0.1:1",
        maxHosts: 2,
        healthCheckDeadlineMs: 10_000,
        actorTypes: [],
      });
      assert.equal(await provider.claimOnce("jti-1", Date.now() + 60_000), true);
      assert.equal(await provider.claimOnce("jti-1", Date.now() + 60_000), false);
    } finally {
      await provider.release();
    }
    const db = new DatabaseSync(path);
    assert.equal(version(db), SCHEMA_VERSION);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
