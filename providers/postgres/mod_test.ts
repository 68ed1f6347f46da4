import assert from "node:assert/strict";
import postgres from "postgres";
import { isFrancisError } from "../../errors.ts";
import { createPostgresProvider, POSTGRES_PROVIDER_DEFAULTS, resolvePostgresProviderOptions } from "./mod.ts";

const URL_ = "postgres://postgres@127.0.0.1:5432/test";

function rejects(options: unknown, kind: typeof TypeError | typeof RangeError, pattern: RegExp): void {
  assert.throws(
    () => createPostgresProvider(options as Parameters<typeof createPostgresProvider>[0]),
    (err: unknown) => {
      assert.ok(err instanceof kind, `expected ${kind.name}, got ${err}`);
      assert.match((err as Error).message, /^Cannot create PostgreSQL provider: /);
      assert.match((err as Error).message, pattern);
      return true;
    },
  );
}

Deno.test("createPostgresProvider applies the documented defaults", () => {
  const resolved = resolvePostgresProviderOptions({ url: URL_ });
  assert.equal(resolved.queryTimeoutMs, 5000);
  assert.equal(resolved.maxConnections, 10);
  assert.equal(resolved.cleanupIntervalMs, 600_000);
  assert.equal(resolved.tablePrefix, "francis");
  assert.deepEqual(POSTGRES_PROVIDER_DEFAULTS, {
    queryTimeoutMs: 5000,
    maxConnections: 10,
    cleanupIntervalMs: 600_000,
    tablePrefix: "francis",
  });
  assert.equal(resolvePostgresProviderOptions({ url: URL_, cleanupIntervalMs: Infinity }).cleanupIntervalMs, Infinity);
  assert.equal(createPostgresProvider({ url: URL_ }).name, "postgres");
});

Deno.test("createPostgresProvider validates every option before connecting", () => {
  rejects(undefined, TypeError, /url or sql/);
  rejects(null, TypeError, /options must be an object/);
  rejects({}, TypeError, /exactly one of url and sql/);
  rejects({ url: 5 }, TypeError, /url must be/);
  rejects({ url: "mysql://x/y" }, TypeError, /url must be/);
  rejects({ sql: {} }, TypeError, /sql must be a postgres.js instance/);
  rejects({ url: URL_, queryTimeoutMs: 0 }, RangeError, /queryTimeoutMs/);
  rejects({ url: URL_, queryTimeoutMs: "5" }, TypeError, /queryTimeoutMs/);
  rejects({ url: URL_, maxConnections: 0 }, RangeError, /maxConnections/);
  rejects({ url: URL_, maxConnections: 1.5 }, TypeError, /maxConnections/);
  rejects({ url: URL_, cleanupIntervalMs: -1 }, RangeError, /cleanupIntervalMs/);
  rejects({ url: URL_, tablePrefix: "Bad" }, TypeError, /tablePrefix/);
  rejects({ url: URL_, tablePrefix: "a".repeat(33) }, TypeError, /tablePrefix/);
  rejects({ url: URL_, clock: {} }, TypeError, /clock/);
  rejects({ url: URL_, queryLog: true }, TypeError, /queryLog must be an object/);
  rejects({ url: URL_, queryLog: { enabled: "yes" } }, TypeError, /queryLog.enabled/);
  rejects({ url: URL_, operationLog: { slowThresholdMs: 0 } }, RangeError, /operationLog.slowThresholdMs/);
});

Deno.test("createPostgresProvider accepts a postgres.js instance without opening it, and refuses transforms", async () => {
  const sql = postgres(URL_, { max: 1 });
  const camel = postgres(URL_, { max: 1, transform: postgres.camel });
  try {
    rejects({ url: URL_, sql }, TypeError, /exactly one of url and sql/);
    rejects({ sql: camel }, TypeError, /must not transform/);
    const provider = createPostgresProvider({ sql });
    await assert.rejects(provider.getState("T", "a"), (err: unknown) => isFrancisError(err, "provider_error"));
  } finally {
    await sql.end();
    await camel.end();
  }
});

Deno.test("createPostgresProvider: acquire against an unreachable server rejects with ProviderError", async () => {
  const provider = createPostgresProvider({ url: "postgres://postgres@127.0.0.1:1/none", queryTimeoutMs: 1000 });
  await assert.rejects(provider.acquire(), (err: unknown) => {
    assert.ok(isFrancisError(err, "provider_error"), String(err));
    assert.match((err as Error).message, /^Cannot open PostgreSQL provider: /);
    return true;
  });
  await provider.release();
});
