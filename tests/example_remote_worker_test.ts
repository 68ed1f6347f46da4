/**
 * Runs `examples/remote_worker/main.ts` end to end as a subprocess, with the
 * permissions of `deno task demo:remote`: `print-ca` and `serve` through the
 * real runtime CLI, two RemoteHost worker processes, a client-only host, a
 * SIGKILL and restart of the runtime, and a clean stop of everything. Once
 * on SQLite (the default: nothing else needed) and once on a fresh
 * PostgreSQL database (`--db`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { createTestDatabase } from "../testing/_postgres.ts";

const MAIN = new URL("../examples/remote_worker/main.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-read", "--allow-write", "--allow-net", "--allow-env", "--allow-run"];

async function runExample(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, MAIN, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

function assertTour(stdout: string, stderr: string, code: number): void {
  const context = `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
  assert.equal(code, 0, `exit code${context}`);
  // The CA comes from the real CLI, and the runtime runs as `serve --config`.
  assert.match(stdout, /\$ deno run -A runtime\/main\.ts print-ca --config \$DEMO_DIR\/config\.yaml/, context);
  assert.match(stdout, /cluster-ca\.pem: 1 CA, SHA-256 [0-9A-F:]+/, context);
  assert.match(stdout, /\$ deno run -A runtime\/main\.ts serve --config \$DEMO_DIR\/config\.yaml/, context);
  assert.match(stdout, /GET http:\/\/127\.0\.0\.1:\d+\/readyz → 200 ready after \d+ ms/, context);
  assert.match(stdout, /GET \/livez → 200 ok/, context);
  assert.match(stdout, /exit 0, healthy: runtime \S+ at 127\.0\.0\.1:\d+/, `healthcheck${context}`);
  // Two workers joined with runtime-issued host IDs.
  const joined = [
    ...stdout.matchAll(/^ {3}(worker-[ab]) joined as host ([0-9a-f-]{36}), peers dial 127\.0\.0\.1:\d+/gm),
  ];
  assert.equal(joined.length, 2, `two workers${context}`);
  // Routing: through either worker, an actor runs on its one worker.
  assert.match(stdout, /via (worker-[ab]): forwarded \1 → worker-[ab] /, `a forwarded call${context}`);
  assert.doesNotMatch(stdout, /forwarded (worker-[ab]) → \1 /, `a call forwarded to itself${context}`);
  assert.match(
    stdout,
    /consistent: 6 increments through 2 workers, \d+ → \d+, every one run by the single activation on worker-[ab]/,
    `the counter${context}`,
  );
  // The client-only host in the launcher.
  assert.match(stdout, /6\. A client-only RemoteHost[^\n]*\n {3}joined as host [0-9a-f-]{36}/, context);
  assert.match(stdout, /counter\/visits → increment → \d+ \(ran on worker-[ab]\)/, context);
  // Runtime killed and restarted: both workers reconnect with the same identity; the state is intact.
  assert.match(stdout, /runtime ready again \d+ ms after the kill/, context);
  const back = [...stdout.matchAll(/(worker-[ab]) serving again (\d+) ms after the kill, same host ID/g)];
  assert.equal(back.length, 2, `both workers reconnected${context}`);
  for (const m of back) assert.ok(Number(m[2]) < 20_000, `${m[1]} took ${m[2]} ms${context}`);
  const intact = /state intact: (\d+) before the kill, (\d+) after; increment → (\d+)/.exec(stdout);
  assert.ok(intact, `the state line${context}`);
  assert.equal(intact[1], intact[2], context);
  assert.equal(Number(intact[3]), Number(intact[1]) + 1, context);
  // Everything stops cleanly.
  assert.equal((stdout.match(/worker-[ab] stopped cleanly in \d+ ms .*, exit 0/g) ?? []).length, 2, context);
  assert.match(stdout, /runtime stopped cleanly in \d+ ms \("Runtime stopped"\), exit 0/, context);
  const done = /Done in ([\d.]+) s\./.exec(stdout);
  // About 4 s on an idle 2-vCPU machine; the bound only catches a hang on a busy one.
  assert.ok(done && Number(done[1]) < 30, `the tour took too long${context}`);
}

Deno.test("example remote_worker: runtime CLI, two workers, a client-only host, runtime restart (SQLite)", async () => {
  const { code, stdout, stderr } = await runExample();
  assertTour(stdout, stderr, code);
  assert.match(stdout, /store: SQLite \/\S+\/francis-remote-demo\.db/, stdout);
  const dir = /DEMO_DIR=(\S+)/.exec(stdout)?.[1];
  assert.ok(dir, stdout);
  await assert.rejects(Deno.stat(dir), Deno.errors.NotFound, "the temporary directory is removed");
});

Deno.test("example remote_worker: --db runs the same tour on PostgreSQL", async () => {
  const db = await createTestDatabase();
  try {
    const { code, stdout, stderr } = await runExample("--db", db.url);
    assertTour(stdout, stderr, code);
    assert.match(stdout, /store: PostgreSQL postgres:\/\//, stdout);
    assert.match(stdout, /The tables francis_\* stay in /, stdout);
  } finally {
    await db.drop();
  }
});

Deno.test("example remote_worker: an unreachable PostgreSQL gives a clear message and exit code 1", async () => {
  const { code, stderr } = await runExample("--db", "postgres://postgres@127.0.0.1:1/postgres");
  assert.equal(code, 1, stderr);
  assert.match(stderr, /the runtime exited before it was ready \(exit code 1\)/);
  assert.match(stderr, /Runtime failed to start .*ECONNREFUSED/);
  assert.match(stderr, /Is PostgreSQL reachable at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres\?/);
});
