/**
 * Runs the WebTransport conformance suite and rejection tests in a child
 * `deno test --unstable-net`: the project's test task runs without
 * `--unstable-net`, so this file never imports the WebTransport modules
 * itself.
 */

import assert from "node:assert/strict";

const FILES = ["_webtransport_suite.ts", "_webtransport_security.ts"];

Deno.test({
  name: "WebTransport transport passes its suites (child deno test --unstable-net)",
  // The child needs run permission; skip quietly where it is not granted.
  ignore: (await Deno.permissions.query({ name: "run" })).state !== "granted",
  async fn() {
    const files = FILES.map((f) => new URL(f, import.meta.url).pathname);
    const config = new URL("../deno.json", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["test", "--unstable-net", "-A", "--sanitize-ops", "--sanitize-resources", "--config", config, ...files],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    });
    const { code, stdout, stderr } = await child.output();
    const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
    assert.equal(code, 0, `child deno test failed (exit ${code}):\n${out}`);
    assert.match(out, /ok \| 3 passed/, `unexpected child output:\n${out}`);
  },
});
