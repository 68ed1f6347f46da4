/**
 * Every small example runs as its own process and ends the way its docs say:
 * exit code 0 and the closing line it prints. (The demo, the local cluster and
 * the remote worker examples have their own, longer tests.)
 */

import assert from "node:assert/strict";

const EXAMPLES: [path: string, lastLine: RegExp][] = [
  ["examples/builtin/cronjob.ts", /^\d+ runs, 0 after unregister$/],
  ["examples/builtin/ratelimit.ts", /^client-1 after waiting: \{ allowed: true/],
  ["examples/builtin/signal.ts", /^second complete refused: Cannot complete signal/],
  ["examples/builtin/taskpool.ts", /^retried as a new task: true$/],
  ["examples/streams/main.ts", /^sent 2\.0 MiB from host A to host B in \d+ ms$/],
];

for (const [path, lastLine] of EXAMPLES) {
  Deno.test(`example ${path} runs to its documented end`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL(`../${path}`, import.meta.url).pathname],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const out = new TextDecoder().decode(stdout).trimEnd().split("\n");
    assert.equal(code, 0, `exit code ${code}; stderr:\n${new TextDecoder().decode(stderr)}`);
    assert.match(out.at(-1) ?? "", lastLine, `last lines:\n${out.slice(-5).join("\n")}`);
  });
}
