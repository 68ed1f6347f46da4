/**
 * The runtime CLI as a subprocess (API.md §19.3): exit codes 0/1/64/78,
 * C-106 (stderr names the key), C-107 (discovery), C-108 (healthcheck
 * without a runtime, and against a stand-in endpoint), C-111 (version,
 * unknown command), and C-98 (`print-ca` output).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { startFakeRuntime } from "./_fake_runtime.ts";
import { MAX_CONFIG_BYTES } from "./config_file.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const PSK = "runtime-psk-0123456789-0123456789-abcdef";
const PSK2 = "runtime-psk-second-0123456789-0123456789";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", ...options.env },
    clearEnv: true,
    cwd: options.cwd ?? Deno.cwd(),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

async function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "francis-cli-" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cli: version prints francis <semver> and exits 0 (C-111)", async () => {
  const r = await cli(["version"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^francis \d+\.\d+\.\d+(-[\w.]+)? \(deno \d+\.\d+\.\d+\)\n$/);
});

Deno.test("cli: an unknown command or flag exits 64 (C-111)", async () => {
  const unknown = await cli(["frobnicate"]);
  assert.equal(unknown.code, 64);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const flag = await cli(["print-ca", "--bnd", "x"]);
  assert.equal(flag.code, 64);
  assert.match(flag.stderr, /unknown flag --bnd/);
  assert.equal((await cli(["healthcheck", "--timeout"])).code, 64);
  assert.equal((await cli(["healthcheck", "--timeout", "soon"])).code, 64);
});

Deno.test("cli: --help on every command exits 0; backup/restore are not available yet", async () => {
  for (
    const args of [["--help"], ["serve", "--help"], ["healthcheck", "-h"], ["print-ca", "--help"], [
      "version",
      "--help",
    ]]
  ) {
    const r = await cli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /^Usage: francis/);
  }
  for (const command of ["backup", "restore"]) {
    const r = await cli([command, "-f", "x.ndjson"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not available yet/);
  }
});

Deno.test("cli: an invalid, unknown, malformed or oversized config exits 78 naming the key (C-106)", async () => {
  await withDir({
    "bad.yaml": `runtimePsks: [${PSK}]\nbootstrap: { method: psk, hostPsk: short-psk }\n`,
    "unknown.yaml": `runtimePsks: [${PSK}]\nalarmPollInterval: 2s\n`,
    "broken.yaml": "runtimePsks: [\n",
    "big.yaml": `# ${"x".repeat(MAX_CONFIG_BYTES)}\n`,
  }, async (dir) => {
    const bad = await cli(["print-ca", "--config", "bad.yaml"], { cwd: dir });
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /bootstrap\.hostPsk must be at least 16 bytes \(got 9\)/);
    const unknown = await cli(["print-ca", "--config", "unknown.yaml"], { cwd: dir });
    assert.equal(unknown.code, 78);
    assert.match(unknown.stderr, /alarmPollInterval is not a known key/);
    const broken = await cli(["print-ca", "--config", "broken.yaml"], { cwd: dir });
    assert.equal(broken.code, 78);
    assert.match(broken.stderr, /not valid YAML at line \d+/);
    const big = await cli(["print-ca", "--config", "big.yaml"], { cwd: dir });
    assert.equal(big.code, 78);
    assert.match(big.stderr, /larger than 1048576 bytes/);
    const env = await cli(["print-ca"], { cwd: dir, env: { FRANCIS_RUNTIME_PSKS: PSK, FRANCIS_MAX_HOSTS: "-1" } });
    assert.equal(env.code, 78);
    assert.match(env.stderr, /maxHosts must be at least 0 \(got -1\) \(from FRANCIS_MAX_HOSTS\)/);
    const flag = await cli(["serve", "--log-level", "loud"], { cwd: dir, env: { FRANCIS_RUNTIME_PSKS: PSK } });
    assert.equal(flag.code, 78);
    assert.match(flag.stderr, /log\.level must be one of debug, info, warn, error \(got "loud"\) \(from --log-level\)/);
  });
});

Deno.test("cli: print-ca prints every PSK's CA in order, byte-identical across runs (C-98)", async () => {
  await withDir({ "config.yaml": `runtimePsks: [${PSK}, ${PSK2}]\n` }, async (dir) => {
    const first = await cli(["print-ca"], { cwd: dir });
    const second = await cli(["print-ca"], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, second.stdout);
    assert.equal(first.stdout, (await deriveClusterCaPem(PSK)) + (await deriveClusterCaPem(PSK2)));
  });
});

Deno.test("cli: config discovery is --config > FRANCIS_CONFIG > ./config.yaml; a missing explicit file exits 78 (C-107)", async () => {
  const files = {
    "config.yaml": `runtimePsks: [${PSK}]\n`,
    "env.yaml": `runtimePsks: [${PSK2}]\n`,
    "flag.yaml": `runtimePsks: [${PSK}, ${PSK2}]\n`,
  };
  await withDir(files, async (dir) => {
    const pem1 = await deriveClusterCaPem(PSK);
    const pem2 = await deriveClusterCaPem(PSK2);
    const env = { FRANCIS_CONFIG: "env.yaml" };
    assert.equal((await cli(["print-ca", "--config", "flag.yaml"], { cwd: dir, env })).stdout, pem1 + pem2);
    assert.equal((await cli(["print-ca"], { cwd: dir, env })).stdout, pem2);
    assert.equal((await cli(["print-ca"], { cwd: dir })).stdout, pem1);
    const missingFlag = await cli(["print-ca", "--config", "gone.yaml"], { cwd: dir, env });
    assert.equal(missingFlag.code, 78);
    assert.match(missingFlag.stderr, /"gone\.yaml" \(from --config\) does not exist/);
    const missingEnv = await cli(["print-ca"], { cwd: dir, env: { FRANCIS_CONFIG: "gone.yaml" } });
    assert.equal(missingEnv.code, 78);
    assert.match(missingEnv.stderr, /FRANCIS_CONFIG/);
  });
});

Deno.test("cli: healthcheck with nothing listening exits 1 within --timeout (C-108)", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // the port is now (very likely) closed
  const started = performance.now();
  const r = await cli(["healthcheck", "--address", `127.0.0.1:${port}`, "--timeout", "2s"], {
    env: { FRANCIS_RUNTIME_PSKS: PSK },
  });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /unhealthy/);
  assert.ok(performance.now() - started < 10_000);
  const noPsk = await cli(["healthcheck", "--address", `127.0.0.1:${port}`]);
  assert.equal(noPsk.code, 78, "the CA comes from runtimePsks");
});

Deno.test("cli: healthcheck against a runtime endpoint: 0 when healthy and trusted, else 1 (C-108)", async () => {
  const healthy = { kind: "health", ok: true, ready: true, runtimeId: "fake-runtime" } as const;
  {
    await using fake = await startFakeRuntime({ psk: PSK, answer: healthy });
    const port = fake.address.split(":")[1];
    const r = await cli(["healthcheck", "--timeout", "5s", "--verbose"], {
      env: { FRANCIS_RUNTIME_PSKS: `${PSK2},${PSK}`, FRANCIS_BIND: `0.0.0.0:${port}` },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /healthy: runtime fake-runtime/);
    const untrusted = await cli(["healthcheck", "--address", fake.address], { env: { FRANCIS_RUNTIME_PSKS: PSK2 } });
    assert.equal(untrusted.code, 1);
  }
  {
    await using fake = await startFakeRuntime({ psk: PSK, answer: { ...healthy, ok: false } });
    const r = await cli(["healthcheck", "--address", fake.address], { env: { FRANCIS_RUNTIME_PSKS: PSK } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not ok/);
  }
});

Deno.test("cli: serve runs until SIGTERM and healthcheck reports it healthy (C-108)", async () => {
  const env = {
    NO_COLOR: "1",
    FRANCIS_RUNTIME_PSKS: PSK,
    FRANCIS_BOOTSTRAP_METHOD: "psk",
    FRANCIS_BOOTSTRAP_HOST_PSK: "host-psk-0123456789",
    FRANCIS_PROVIDER_CONNECTION_STRING: "memory",
    FRANCIS_HEALTH_BIND: "127.0.0.1:0",
  };
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "--bind", "127.0.0.1:0", "--log-json"],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let buffer = "";
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>({
      transform(chunk, controller) {
        const parts = (buffer + chunk).split("\n");
        buffer = parts.pop()!;
        for (const p of parts) controller.enqueue(p);
      },
    }),
  );
  const reader = lines.getReader();
  const seen: Record<string, unknown>[] = [];
  let address: string | undefined;
  while (address === undefined) {
    const { value, done } = await reader.read();
    assert.ok(!done, `serve exited early: ${JSON.stringify(seen)}`);
    const record = JSON.parse(value) as Record<string, unknown>;
    seen.push(record);
    if (record.msg === "Runtime listening") address = record.address as string;
  }
  const healthy = await cli(["healthcheck", "--address", address], { env: { FRANCIS_RUNTIME_PSKS: PSK } });
  assert.equal(healthy.code, 0, healthy.stderr);
  child.kill("SIGTERM");
  const rest: string[] = [];
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
  assert.equal((await child.status).code, 0);
  assert.ok(rest.some((l) => l.includes('"Runtime stopped"')), rest.join("\n"));
  const after = await cli(["healthcheck", "--address", address, "--timeout", "1s"], {
    env: { FRANCIS_RUNTIME_PSKS: PSK },
  });
  assert.equal(after.code, 1);
});
