/**
 * Smoke test of the benchmark suite: `bench/main.ts --quick` must run the
 * scenarios, exit 0 and write JSON holding every scenario key it ran.
 *
 * Three runs, so that a failure names its group: (a)–(f), about 14 s here,
 * the PostgreSQL cluster scenarios (g)–(i) and the jobs scenario (m), about
 * 42 s (each starts three or more host processes; h kills and restarts two;
 * m also runs its SQLite phases), and the remote-topology
 * scenarios (j)–(l), about 21 s (a runtime process and worker processes; k
 * kills and restarts the runtime twice). About 77 s in total on this 2-core
 * box. `FRANCIS_BENCH_SMOKE_FAST=1` skips the second and third runs.
 */

import assert from "node:assert/strict";

const FAST = ["a_invoke", "b_sqlite_writes", "c_activations", "d_alarms", "e_alarm_rss", "f_cross_host_invoke"];
const SLOW = ["g_postgres_writes", "h_failover", "i_postgres_activations", "m_jobs"];
const REMOTE = ["j_worker_invoke", "k_runtime_restart", "l_idle_workers"];

async function smoke(keys: readonly string[], timeoutMs: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "francis-bench-test-" });
  try {
    const out = `${dir}/results.json`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        new URL("./main.ts", import.meta.url).pathname,
        "--quick",
        "--only",
        keys.join(","),
        "--out",
        out,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, `bench exited with ${result.code}:\n${stderr.slice(-3_000)}`);
    const json = JSON.parse(await Deno.readTextFile(out)) as { quick: boolean; scenarios: Record<string, unknown> };
    assert.equal(json.quick, true);
    for (const key of keys) {
      const s = json.scenarios[key] as { error?: string; metrics?: unknown[] } | undefined;
      assert.ok(s !== undefined, `missing scenario "${key}"`);
      assert.equal(s.error, undefined, `scenario "${key}" failed: ${s.error}`);
      assert.ok(Array.isArray(s.metrics) && s.metrics.length > 0, `scenario "${key}" has no metrics`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("bench: --quick runs scenarios a–f and writes JSON", () => smoke(FAST, 90_000));

Deno.test({
  name: "bench: --quick runs the PostgreSQL cluster scenarios g–i and the jobs scenario m",
  ignore: Deno.env.get("FRANCIS_BENCH_SMOKE_FAST") === "1",
  fn: () => smoke(SLOW, 180_000),
});

Deno.test({
  name: "bench: --quick runs the remote-topology scenarios j–l",
  ignore: Deno.env.get("FRANCIS_BENCH_SMOKE_FAST") === "1",
  fn: () => smoke(REMOTE, 120_000),
});
