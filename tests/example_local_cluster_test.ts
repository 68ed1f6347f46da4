/**
 * Runs `examples/local_cluster/main.ts` end to end as a subprocess, with the
 * permissions of `deno task demo:cluster`, against a fresh PostgreSQL
 * database: three host processes, forwarding, one consistent counter, and
 * failover after SIGKILL.
 *
 * @module
 */

import assert from "node:assert/strict";
import postgres from "postgres";
import { createTestDatabase } from "../testing/_postgres.ts";

const MAIN = new URL("../examples/local_cluster/main.ts", import.meta.url).pathname;
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-run"];

async function runExample(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...PERMISSIONS, MAIN, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("example local_cluster: three host processes forward calls, agree on a counter and fail over", async () => {
  const db = await createTestDatabase();
  try {
    const { code, stdout, stderr } = await runExample("--db", db.url);
    const context = `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
    assert.equal(code, 0, `exit code${context}`);
    assert.equal(
      (stdout.match(/^ {3}host-[abc] ready on 127\.0\.0\.1:\d+/gm) ?? []).length,
      3,
      `three hosts${context}`,
    );
    assert.match(stdout, /via (host-[abc]): forwarded \1 → host-[abc] /, `a forwarded call${context}`);
    assert.doesNotMatch(stdout, /forwarded (host-[abc]) → \1 /, `a call forwarded to itself${context}`);
    assert.match(
      stdout,
      /consistent: 9 increments through 3 hosts, 0 → 9, every one run by the single activation on host-[abc]/,
      `the counter${context}`,
    );
    const failover = /failover: (\d+) actors of (host-[abc]) answered on the survivors (\d+) ms after the SIGKILL/
      .exec(stdout);
    assert.ok(failover, `the failover line${context}`);
    assert.ok(Number(failover[1]) >= 1, `the killed host had actors${context}`);
    assert.ok(Number(failover[3]) < 10_000, `failover took ${failover[3]} ms${context}`);
    assert.match(stdout, /counter\/visits +answers again on host-[abc] after \d+ ms, value still 9/, context);
    assert.match(stdout, /counter\/visits +increment via host-[abc] → 10 /, context);
    assert.equal((stdout.match(/stopped cleanly/g) ?? []).length, 2, `two graceful stops${context}`);
    assert.match(stdout, /Dropped the tables francis_cluster_demo_\*/, context);
    // The tour takes 2–3 s on an idle 2-vCPU machine; the bound only catches a hang on a busy one.
    const done = /Done in ([\d.]+) s\./.exec(stdout);
    assert.ok(done && Number(done[1]) < 60, `the tour took too long${context}`);

    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const left = await sql`SELECT tablename FROM pg_tables WHERE tablename LIKE 'francis\\_cluster\\_demo\\_%'`;
      assert.deepEqual(left.map((r) => r.tablename), [], "the example dropped its tables");
    } finally {
      await sql.end();
    }
  } finally {
    await db.drop();
  }
});

Deno.test("example local_cluster: an unreachable server gives a clear message and a non-zero exit", async () => {
  const { code, stderr } = await runExample("--db", "postgres://postgres@127.0.0.1:1/postgres");
  assert.equal(code, 1, stderr);
  assert.match(stderr, /Cannot connect to PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/postgres/);
  assert.match(stderr, /--db postgres:\/\//);
  assert.match(stderr, /FRANCIS_DEMO_POSTGRES_URL/);
});
