/**
 * A streamed call whose owner is killed mid-body (API.md §11): the caller's
 * read rejects with `TransportError` instead of hanging. The owner is a
 * separate OS process on a shared SQLite file, killed with SIGKILL.
 */

import assert from "node:assert/strict";
import { generatePsk, isFrancisError, LocalHost } from "../mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import { linesOf } from "./_shared/processes.ts";

Deno.test("streams: SIGKILL of the owner mid-body rejects the caller's read with TransportError", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-stream-crash-" });
  const path = `${dir}/streams.db`;
  const psk = generatePsk();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_stream_child.ts", import.meta.url).pathname, path, psk],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const caller = new LocalHost({
    address: "127.0.0.1:0",
    runtimePsks: [psk],
    provider: createSqliteProvider({ path }),
    healthCheckDeadlineMs: 2_000,
    requestTimeoutMs: 3_000,
  });
  try {
    const lines = linesOf(child.stdout);
    for await (const line of lines) if (line === "ready") break;
    await caller.start();
    const result = await caller.service.invokeStream("streamer", "s1", "tail");
    const reader = result.body.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value), "first");
    const pending = reader.read();
    child.kill("SIGKILL");
    const killedAt = Date.now();
    await assert.rejects(pending, (e) => isFrancisError(e, "transport_failure"));
    // A lost TCP connection is noticed at once; the keepalive bound (requestTimeoutMs) is the worst case.
    assert.ok(Date.now() - killedAt < 3_000, `the read took ${Date.now() - killedAt} ms to fail`);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already dead */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await caller.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
