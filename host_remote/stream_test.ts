/**
 * Streams in the remote topology (API.md §11): two workers admitted by an
 * in-process runtime, real TLS everywhere. A stream from one worker to an actor
 * on the other goes worker to worker over their peer link, the same messages
 * as between local hosts.
 */

import assert from "node:assert/strict";
import { isFrancisError } from "../errors.ts";
import type { StreamRequest } from "../actor/types.ts";
import { createTestWorker, startTestRuntime } from "../testing/_remote.ts";

Deno.test("remote topology: a stream between two workers round-trips 250 KB and enforces the owner's body bound", async () => {
  const rt = await startTestRuntime({ runtimeId: "rt-streams" });
  const worker = (serves: boolean) => {
    const host = createTestWorker(rt, { maxRequestBodySizeBytes: 300_000 });
    if (serves) {
      host.registerActor("echo", () => ({
        invokeStream: (_m: string, request: StreamRequest) => ({
          contentType: request.contentType,
          body: request.body,
        }),
        invoke: () => host.hostId,
      }));
    }
    return host;
  };
  const [owner, caller] = [worker(true), worker(false)];
  try {
    await owner.start();
    await caller.start();
    const big = new Uint8Array(250_000).map((_, i) => (i * 2_654_435_761) >>> 24);
    const result = await caller.service.invokeStream("echo", "e1", "echo", {
      contentType: "application/x-test",
      body: big,
    });
    assert.equal(result.contentType, "application/x-test");
    assert.deepEqual(new Uint8Array(await new Response(result.body).arrayBuffer()), big);
    assert.equal(await caller.service.invoke("echo", "e1", "where"), owner.hostId);
    await assert.rejects(
      caller.service.invokeStream("echo", "e1", "echo", { body: new Uint8Array(300_001) }).then((r) =>
        new Response(r.body).arrayBuffer()
      ),
      (e) => isFrancisError(e, "payload_too_large"),
    );
  } finally {
    await caller.stop();
    await owner.stop();
    await rt.stop();
  }
});
