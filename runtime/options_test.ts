/**
 * `resolveRuntimeOptions`, `RUNTIME_DEFAULTS` and the connection-string
 * factory (API.md §19.1).
 */

import assert from "node:assert/strict";
import {
  createProviderFromConnectionString,
  resolveRuntimeOptions,
  RUNTIME_DEFAULTS,
  type RuntimeOptions,
} from "./options.ts";
import { parseConnectionString } from "./provider_spec.ts";

const BASE: RuntimeOptions = {
  runtimePsks: ["runtime-psk-0123456789-0123456789-abcdef"],
  bootstrap: { method: "psk", hostPsk: "host-psk-0123456789" },
  provider: { connectionString: "memory" },
};

function throwsWith(
  options: Partial<RuntimeOptions> & Record<string, unknown>,
  type: typeof TypeError,
  message: string,
) {
  assert.throws(() => resolveRuntimeOptions({ ...BASE, ...options } as RuntimeOptions), (err: Error) => {
    assert.ok(err instanceof type, `${err.name}: ${err.message}`);
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("options: defaults apply and match RUNTIME_DEFAULTS", () => {
  const o = resolveRuntimeOptions(BASE);
  assert.equal(o.bind, "0.0.0.0:7400");
  assert.deepEqual([o.bindHost, o.bindPort], ["0.0.0.0", 7400]);
  assert.equal(o.healthBind, undefined);
  assert.deepEqual(resolveRuntimeOptions({ ...BASE, healthBind: "[::1]:7401" }).healthBind, {
    host: "::1",
    port: 7401,
  });
  assert.match(o.runtimeId, /^[0-9a-f-]{36}$/);
  for (const key of Object.keys(RUNTIME_DEFAULTS) as (keyof typeof RUNTIME_DEFAULTS)[]) {
    if (key !== "log" && key !== "healthBind") assert.equal(o[key], RUNTIME_DEFAULTS[key], key);
  }
  assert.deepEqual(o.log, { level: "info", json: false });
  assert.equal(o.providerDriver, "memory");
  assert.deepEqual(o.runtimePsks[0], new TextEncoder().encode(BASE.runtimePsks[0] as string));
  assert.ok(Object.isFrozen(RUNTIME_DEFAULTS) && Object.isFrozen(RUNTIME_DEFAULTS.log));
});

Deno.test("options: PSKs, IDs and addresses are validated", () => {
  throwsWith(
    { runtimePsks: ["short"] },
    RangeError,
    "Cannot start runtime: runtimePsks[0] must be at least 32 bytes (got 5)",
  );
  throwsWith({ runtimePsks: [] }, TypeError, "Cannot start runtime: runtimePsks must be a non-empty array (got array)");
  throwsWith(
    { bootstrap: { method: "psk", hostPsk: "123456789" } },
    RangeError,
    "Cannot start runtime: bootstrap.hostPsk must be at least 16 bytes (got 9)",
  );
  throwsWith(
    { runtimePsks: [new Uint8Array(31)] },
    RangeError,
    "Cannot start runtime: runtimePsks[0] must be at least 32 bytes (got 31)",
  );
  assert.equal(resolveRuntimeOptions({ ...BASE, runtimePsks: [new Uint8Array(32)] }).runtimePsks[0].length, 32);
  throwsWith(
    { runtimeId: "a/b" },
    TypeError,
    'Cannot start runtime: runtimeId must be 1 to 64 characters of A-Z, a-z, 0-9, ".", "_", "~" or "-" (got "a/b")',
  );
  assert.match(resolveErr({ runtimeId: "x".repeat(65) }), /runtimeId must be 1 to 64 characters/);
  throwsWith({ bind: "nope" }, TypeError, 'Cannot start runtime: bind must be "host:port" (got "nope")');
  throwsWith(
    { bind: "0.0.0.0:7401", healthBind: "127.0.0.1:7401" },
    TypeError,
    'Cannot start runtime: healthBind must not use the port of bind (got "127.0.0.1:7401")',
  );
  assert.equal(resolveRuntimeOptions({ ...BASE, runtimeId: "runtime-0" }).runtimeId, "runtime-0");
});

function resolveErr(o: Partial<RuntimeOptions>): string {
  try {
    resolveRuntimeOptions({ ...BASE, ...o });
  } catch (err) {
    return (err as Error).message;
  }
  return "no error";
}

Deno.test("options: JWT bootstrap needs exactly one JWKS source, and a valid JWKS", () => {
  const jwt = { issuer: "https://iss", audience: "francis" };
  throwsWith(
    { bootstrap: { method: "jwt", jwt } },
    TypeError,
    "Cannot start runtime: bootstrap.jwt must set exactly one of jwksUrl and staticJwks (got neither)",
  );
  throwsWith(
    { bootstrap: { method: "jwt", jwt: { ...jwt, jwksUrl: "https://iss/jwks", staticJwks: "{}" } } },
    TypeError,
    "Cannot start runtime: bootstrap.jwt must set exactly one of jwksUrl and staticJwks (got both)",
  );
  throwsWith(
    { bootstrap: { method: "jwt", jwt: { ...jwt, staticJwks: "{nope" } } },
    TypeError,
    "Cannot start runtime: bootstrap.jwt.staticJwks must be a JWKS JSON string (it is not valid JSON)",
  );
  const jwks = JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "a", y: "b" }] });
  const o = resolveRuntimeOptions({ ...BASE, bootstrap: { method: "jwt", jwt: { ...jwt, staticJwks: jwks } } });
  assert.deepEqual(o.bootstrap, { method: "jwt", ...jwt, staticJwks: jwks });
  throwsWith(
    { bootstrap: { method: "token" } as unknown as RuntimeOptions["bootstrap"] },
    TypeError,
    'Cannot start runtime: bootstrap.method must be "psk" or "jwt" (got "token")',
  );
});

Deno.test("options: ranges follow the §19.2 table, nothing is clamped", () => {
  throwsWith(
    { healthCheckDeadlineMs: 1_000 },
    RangeError,
    "Cannot start runtime: healthCheckDeadlineMs must be between 1001 and 2147483647 (got 1000)",
  );
  throwsWith(
    { workloadCertTtlMs: 366 * 86_400_000 },
    RangeError,
    "Cannot start runtime: workloadCertTtlMs must be between 60000 and 31536000000 (got 31622400000)",
  );
  throwsWith(
    { alarmsPollIntervalMs: 99 },
    RangeError,
    "Cannot start runtime: alarmsPollIntervalMs must be between 100 and 2147483647 (got 99)",
  );
  throwsWith(
    { alarmsFetchBatchSize: 1_001 },
    RangeError,
    "Cannot start runtime: alarmsFetchBatchSize must be between 1 and 1000 (got 1001)",
  );
  throwsWith({ maxHosts: -1 }, RangeError, "Cannot start runtime: maxHosts must be at least 0 (got -1)");
  throwsWith(
    { requestTimeoutMs: 1.5 },
    TypeError,
    "Cannot start runtime: requestTimeoutMs must be an integer (got 1.5)",
  );
  // This test run has no --unstable-net (tests/wt_remote_test.ts covers the flagged runtime).
  throwsWith(
    { transport: "webtransport" },
    TypeError,
    'Cannot start runtime: transport "webtransport" needs Deno with --unstable-net',
  );
  throwsWith(
    { transport: "quic" as "tls" },
    TypeError,
    'Cannot start runtime: transport must be "tls" or "webtransport" (got "quic")',
  );
  throwsWith(
    { log: { level: "trace" as "info" } },
    TypeError,
    'Cannot start runtime: log.level must be one of debug, info, warn, error (got "trace")',
  );
  throwsWith(
    { provider: { connectionString: "mysql://db" } },
    TypeError,
    'Cannot start runtime: provider.connectionString must use postgres://, postgresql://, memory, sqlite: or file:, or be a file path (got scheme "mysql")',
  );
  throwsWith(
    { provider: { connectionString: "postgres://db", queryLog: { slowThresholdMs: 0 } } },
    RangeError,
    "Cannot start runtime: provider.queryLog.slowThresholdMs must be between 1 and 2147483647 (got 0)",
  );
});

Deno.test("options: a custom logger is used; otherwise log builds one", () => {
  const lines: string[] = [];
  const logger = { debug: () => {}, info: (m: string) => lines.push(m), warn: () => {}, error: () => {} };
  const o = resolveRuntimeOptions({ ...BASE, logger, log: { level: "debug", json: true } });
  o.logger.info("hello");
  assert.deepEqual(lines, ["hello"]);
  assert.deepEqual(o.log, { level: "debug", json: true });
});

Deno.test("connection strings select the driver", async () => {
  assert.deepEqual(parseConnectionString("postgresql://u@h/db"), { driver: "postgres", url: "postgresql://u@h/db" });
  assert.deepEqual(parseConnectionString("memory://x"), { driver: "memory" });
  assert.deepEqual(parseConnectionString("data/francis.db"), { driver: "sqlite", path: "data/francis.db" });
  assert.deepEqual(parseConnectionString("sqlite:///var/lib/francis.db"), {
    driver: "sqlite",
    path: "/var/lib/francis.db",
  });
  assert.deepEqual(parseConnectionString("file:francis.db"), { driver: "sqlite", path: "francis.db" });
  assert.deepEqual(parseConnectionString(":memory:"), { driver: "sqlite", path: ":memory:" });
  const url = parseConnectionString("file:///tmp/f.db");
  assert.ok(url.driver === "sqlite" && url.path instanceof URL && url.path.pathname === "/tmp/f.db");
  assert.throws(() => parseConnectionString("sqlite:f.db?mode=ro"), /URI parameters/);
  assert.equal((await createProviderFromConnectionString("memory")).name, "memory");
  assert.equal((await createProviderFromConnectionString({ connectionString: "sqlite::memory:" })).name, "sqlite");
  const pg = await createProviderFromConnectionString({
    connectionString: "postgres://u@127.0.0.1:1/db",
    queryLog: { enabled: true },
  });
  assert.equal(pg.name, "postgres");
  await assert.rejects(createProviderFromConnectionString(""), TypeError);
});
