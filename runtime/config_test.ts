/**
 * `loadRuntimeConfig` (API.md §19.2): precedence (C-105), strict validation
 * with `path`/`source` (C-106), discovery (C-107), durations, file limits.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import { loadRuntimeConfig } from "./config.ts";
import { MAX_CONFIG_BYTES } from "./config_file.ts";

const PSK = "runtime-psk-0123456789-0123456789-abcdef";
const PSK2 = "runtime-psk-second-0123456789-0123456789";
const REQUIRED_ENV = {
  FRANCIS_RUNTIME_PSKS: PSK,
  FRANCIS_BOOTSTRAP_METHOD: "psk",
  FRANCIS_BOOTSTRAP_HOST_PSK: "host-psk-0123456789",
  FRANCIS_PROVIDER_CONNECTION_STRING: "memory",
};

async function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "francis-config-" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function configError(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    assert.equal(err.code, "config_invalid");
    assert.match(err.message, /^Cannot load configuration: /);
    return err;
  }
  throw new assert.AssertionError({ message: "expected a ConfigError" });
}

Deno.test("config: bind precedence is flag > file > env > default (C-105)", async () => {
  await withDir({ "config.yaml": "bind: 127.0.0.2:7502\n" }, async (dir) => {
    const env = { ...REQUIRED_ENV, FRANCIS_BIND: "127.0.0.3:7503" };
    const all = await loadRuntimeConfig({ args: ["--bind", "127.0.0.1:7501"], env, cwd: dir });
    assert.equal(all.bind, "127.0.0.1:7501");
    assert.equal((await loadRuntimeConfig({ env, cwd: dir })).bind, "127.0.0.2:7502");
  });
  await withDir({}, async (dir) => {
    const env = { ...REQUIRED_ENV, FRANCIS_BIND: "127.0.0.3:7503" };
    assert.equal((await loadRuntimeConfig({ env, cwd: dir })).bind, "127.0.0.3:7503");
    assert.equal((await loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir })).bind, "0.0.0.0:7400");
  });
});

Deno.test("config: keys merge one by one across sources, with every default filled in", async () => {
  const yaml = [
    "runtimePsks: [" + JSON.stringify(PSK2) + "]",
    "healthCheckDeadline: 30s",
    "log: { level: debug }",
    "provider: { queryLog: { enabled: true, slowThreshold: 250ms } }",
  ].join("\n");
  await withDir({ "config.yaml": yaml }, async (dir) => {
    const env = { ...REQUIRED_ENV, FRANCIS_LOG_JSON: "true", FRANCIS_ALARMS_POLL_INTERVAL: "PT2S" };
    const o = await loadRuntimeConfig({ args: ["--log-json=false"], env, cwd: dir });
    assert.deepEqual(o.runtimePsks, [PSK2]);
    assert.deepEqual(o.log, { level: "debug", json: false });
    assert.deepEqual(o.provider, { connectionString: "memory", queryLog: { enabled: true, slowThresholdMs: 250 } });
    assert.equal(o.healthCheckDeadlineMs, 30_000);
    assert.equal(o.alarmsPollIntervalMs, 2_000);
    assert.equal(o.workloadCertTtlMs, 3_600_000);
    assert.equal(o.healthBind, "0.0.0.0:7401");
    assert.equal(o.runtimeId, undefined);
    assert.deepEqual(o.bootstrap, { method: "psk", hostPsk: "host-psk-0123456789" });
  });
});

Deno.test("config: JSON files and JWT bootstrap parse", async () => {
  const jwks = JSON.stringify({
    keys: [{ kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }],
  });
  const json = JSON.stringify({
    runtimePsks: [PSK, PSK2],
    bootstrap: { method: "jwt", jwt: { issuer: "https://iss", audience: "francis", staticJwks: jwks } },
    provider: { connectionString: "postgres://u:p@db:5432/francis" },
    maxHosts: 3,
  });
  await withDir({ "c.json": json }, async (dir) => {
    const o = await loadRuntimeConfig({ args: ["--config", "c.json"], env: {}, cwd: dir });
    assert.deepEqual(o.bootstrap, {
      method: "jwt",
      jwt: { issuer: "https://iss", audience: "francis", staticJwks: jwks },
    });
    assert.equal(o.maxHosts, 3);
  });
});

Deno.test("config: an unknown or invalid key is a ConfigError naming path and source (C-106)", async () => {
  await withDir({ "config.yaml": "bootstrap: { method: psk, hostPsk: short-psk }\n" }, async (dir) => {
    const err = await configError(loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir }));
    assert.equal(err.message, "Cannot load configuration: bootstrap.hostPsk must be at least 16 bytes (got 9)");
    assert.deepEqual([err.path, err.source], ["bootstrap.hostPsk", "file"]);
  });
  await withDir({ "config.yaml": "log: { levle: debug }\n" }, async (dir) => {
    const err = await configError(loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir }));
    assert.deepEqual([err.path, err.source], ["log.levle", "file"]);
    assert.match(err.message, /log\.levle is not a known key/);
  });
  await withDir({}, async (dir) => {
    const env = { ...REQUIRED_ENV, FRANCIS_RUNTIME_PSKS: `${PSK},too-short` };
    const err = await configError(loadRuntimeConfig({ env, cwd: dir }));
    assert.deepEqual([err.path, err.source], ["runtimePsks[1]", "env"]);
    const flagErr = await configError(
      loadRuntimeConfig({ args: ["--log-level", "loud"], env: REQUIRED_ENV, cwd: dir }),
    );
    assert.deepEqual([flagErr.path, flagErr.source], ["log.level", "flag"]);
    const missing = await configError(loadRuntimeConfig({ env: {}, cwd: dir }));
    assert.deepEqual([missing.path, missing.source], ["runtimePsks", "env"]);
  });
});

Deno.test("config: durations accept Go, ISO-8601 and integer ms; reject non-positive and malformed", async () => {
  const cases: [string, number | RegExp][] = [
    ["1h30m", 5_400_000],
    ["1500ms", 1_500],
    ["PT1M", 60_000],
    ["45000", 45_000],
    ["0s", /must be a positive duration/],
    ["-5s", /must be a positive duration/],
    ["5 seconds", /must be a duration such as/],
    ["P1M", /years or months/],
    ["1500us", /whole number of milliseconds/],
    ["500ms", /must be between 1001 and 2147483647 ms \(got 500 ms\)/],
  ];
  await withDir({}, async (dir) => {
    for (const [text, expected] of cases) {
      const env = { ...REQUIRED_ENV, FRANCIS_HEALTH_CHECK_DEADLINE: text };
      if (typeof expected === "number") {
        assert.equal((await loadRuntimeConfig({ env, cwd: dir })).healthCheckDeadlineMs, expected, text);
      } else {
        const err = await configError(loadRuntimeConfig({ env, cwd: dir }));
        assert.match(err.message, expected, text);
        assert.deepEqual([err.path, err.source], ["healthCheckDeadline", "env"]);
      }
    }
  });
});

Deno.test("config: file discovery is --config > FRANCIS_CONFIG > ./config.yaml (C-107)", async () => {
  const files = {
    "config.yaml": "bind: 127.0.0.1:1001\n",
    "a.yaml": "bind: 127.0.0.1:1002\n",
    "b.yaml": "bind: 127.0.0.1:1003\n",
  };
  await withDir(files, async (dir) => {
    const env = { ...REQUIRED_ENV, FRANCIS_CONFIG: "b.yaml" };
    assert.equal((await loadRuntimeConfig({ args: ["--config", "a.yaml"], env, cwd: dir })).bind, "127.0.0.1:1002");
    assert.equal((await loadRuntimeConfig({ env, cwd: dir })).bind, "127.0.0.1:1003");
    assert.equal((await loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir })).bind, "127.0.0.1:1001");
    const byFlag = await configError(loadRuntimeConfig({ args: ["--config=gone.yaml"], env, cwd: dir }));
    assert.deepEqual([byFlag.path, byFlag.source], ["config", "flag"]);
    const byEnv = await configError(loadRuntimeConfig({ env: { ...env, FRANCIS_CONFIG: "gone.yaml" }, cwd: dir }));
    assert.deepEqual([byEnv.path, byEnv.source], ["config", "env"]);
  });
});

Deno.test("config: malformed YAML names the line; oversized files and non-mappings are rejected", async () => {
  await withDir({ "config.yaml": "bind: 127.0.0.1:1\nlog: { level: info\n" }, async (dir) => {
    const err = await configError(loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir }));
    assert.match(err.message, /is not valid YAML at line \d+, column \d+/);
    assert.equal(err.source, "file");
  });
  await withDir({ "config.yaml": "bind: a\nbind: b\n" }, async (dir) => {
    assert.match((await configError(loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir }))).message, /line 2/);
  });
  await withDir({ "config.yaml": `# ${"x".repeat(MAX_CONFIG_BYTES)}\n` }, async (dir) => {
    const err = await configError(loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir }));
    assert.match(err.message, /is larger than 1048576 bytes/);
  });
  await withDir({ "config.yaml": "- 1\n- 2\n" }, async (dir) => {
    const err = await configError(loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir }));
    assert.equal(err.message, "Cannot load configuration: the configuration must be a mapping (got array)");
  });
  await withDir({ "config.yaml": "" }, async (dir) => {
    assert.equal((await loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir })).bind, "0.0.0.0:7400");
  });
});

Deno.test("config: cross-key rules (bootstrap method, JWKS source, healthBind port)", async () => {
  await withDir({}, async (dir) => {
    const jwtEnv = {
      ...REQUIRED_ENV,
      FRANCIS_BOOTSTRAP_HOST_PSK: "",
      FRANCIS_BOOTSTRAP_METHOD: "jwt",
      FRANCIS_BOOTSTRAP_JWT_ISSUER: "iss",
      FRANCIS_BOOTSTRAP_JWT_AUDIENCE: "aud",
    };
    const neither = await configError(loadRuntimeConfig({ env: jwtEnv, cwd: dir }));
    assert.equal(neither.path, "bootstrap.jwt");
    const mixed = await configError(
      loadRuntimeConfig({ env: { ...jwtEnv, FRANCIS_BOOTSTRAP_HOST_PSK: "x".repeat(16) }, cwd: dir }),
    );
    assert.equal(mixed.path, "bootstrap.hostPsk");
    const ok = await loadRuntimeConfig({
      env: { ...jwtEnv, FRANCIS_BOOTSTRAP_JWT_JWKS_URL: "https://iss/jwks" },
      cwd: dir,
    });
    assert.equal(ok.bootstrap.method, "jwt");
    const clash = await configError(
      loadRuntimeConfig({ args: ["--bind", "0.0.0.0:7401"], env: REQUIRED_ENV, cwd: dir }),
    );
    assert.equal(clash.path, "healthBind");
  });
  await withDir({ "config.yaml": 'healthBind: ""\nbind: 0.0.0.0:7401\n' }, async (dir) => {
    assert.equal((await loadRuntimeConfig({ env: REQUIRED_ENV, cwd: dir })).healthBind, "");
  });
});
