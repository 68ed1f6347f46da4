/**
 * Smoke test of the benchmark suite: `bench/main.ts --quick` must run every
 * scenario, exit 0 and write JSON holding all five scenario keys.
 */

import assert from "node:assert/strict";

const KEYS = ["a_invoke", "b_sqlite_writes", "c_activations", "d_alarms", "e_alarm_rss"];

Deno.test("bench: --quick runs every scenario and writes JSON", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-bench-test-" });
  try {
    const out = `${dir}/results.json`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", new URL("./main.ts", import.meta.url).pathname, "--quick", "--out", out],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, `bench exited with ${result.code}:\n${stderr.slice(-3_000)}`);
    const json = JSON.parse(await Deno.readTextFile(out)) as { quick: boolean; scenarios: Record<string, unknown> };
    assert.equal(json.quick, true);
    for (const key of KEYS) {
      const s = json.scenarios[key] as { error?: string; metrics?: unknown[] } | undefined;
      assert.ok(s !== undefined, `missing scenario "${key}"`);
      assert.equal(s.error, undefined, `scenario "${key}" failed: ${s.error}`);
      assert.ok(Array.isArray(s.metrics) && s.metrics.length > 0, `scenario "${key}" has no metrics`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
