/**
 * Runs the WebTransport worker-session suites (`tests/_wt/`) in a child
 * `deno test --unstable-net`: the project's test task runs without
 * `--unstable-net`, so this file never imports WebTransport code itself. The
 * in-process suite covers PSK, JWT and certificate admission and the
 * rejections; the process suite runs the real CLI runtime, worker processes
 * on PostgreSQL and a SIGKILL.
 */

import assert from "node:assert/strict";

const FILES = ["_wt/inproc_suite.ts", "_wt/process_suite.ts"];
const EXPECTED = 7;

Deno.test({
  name: "WebTransport worker sessions pass their suites (child deno test --unstable-net)",
  // The child needs run permission; skip quietly where it is not granted.
  ignore: (await Deno.permissions.query({ name: "run" })).state !== "granted",
  async fn() {
    const files = FILES.map((f) => new URL(f, import.meta.url).pathname);
    const config = new URL("../deno.json", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--unstable-net", "-A", "--config", config, ...files],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, `child deno test failed (exit ${code}):\n${out}`);
    assert.match(out, new RegExp(`ok \\| ${EXPECTED} passed \\| 0 failed`), `unexpected child output:\n${out}`);
    for (const line of out.split("\n").filter((l) => l.startsWith("wt worker kill:"))) console.log(line);
  },
});
