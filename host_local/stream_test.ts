/**
 * Streamed calls (API.md §11, C-62..C-65), each case run twice: with the
 * caller on the owner's host, and on another host linked by real TLS (so the
 * peer messages of `stream_protocol.ts` carry it).
 */

import assert from "node:assert/strict";
import type { Actor, ActorContext, StreamRequest, StreamResponse } from "../actor/types.ts";
import { isFrancisError } from "../errors.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { LocalHost } from "./host.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
const MAX_BODY = 300_000;

/** A stream of `chunks`, then an error if `fail` is set. */
function streamOf(chunks: Uint8Array[], fail?: Error): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) return controller.enqueue(chunks[i++]);
      if (fail !== undefined) return controller.error(fail);
      controller.close();
    },
  });
}

interface Probe {
  invokes: number;
  peekStreamsRunning: number;
  maxPeekStreams: number;
  lastRequestType?: string;
  signals: AbortSignal[];
}

function streamActor(probe: Probe): Actor {
  return {
    invoke() {
      probe.invokes++;
      return probe.invokes;
    },
    invokeStream(method: string, request: StreamRequest, ctx: ActorContext): StreamResponse | Promise<StreamResponse> {
      probe.lastRequestType = request.contentType;
      probe.signals.push(ctx.signal);
      switch (method) {
        case "echo":
          return { contentType: request.contentType, body: request.body };
        case "buffered":
          return new Response(request.body).arrayBuffer().then((b) => ({ body: new Uint8Array(b) }));
        case "text":
          return { body: "plain text" };
        case "empty":
          return {};
        case "throw":
          throw new Error("handler-boom");
        case "failMidBody":
          return { body: streamOf([new TextEncoder().encode("first")], new Error("body-boom")) };
        case "big": {
          const chunk = new Uint8Array(64 * 1024).fill(7);
          return { body: streamOf(Array.from({ length: 40 }, () => chunk)) };
        }
        default:
          throw new Error(`unknown ${method}`);
      }
    },
    async peekStream(_method: string, _request: StreamRequest, ctx: ActorContext) {
      assert.equal(ctx.readOnly, true);
      probe.peekStreamsRunning++;
      probe.maxPeekStreams = Math.max(probe.maxPeekStreams, probe.peekStreamsRunning);
      await Promise.resolve();
      return {
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            controller.enqueue(new Uint8Array([1]));
            controller.close();
          },
          cancel() {},
        }),
      };
    },
  };
}

/** Two hosts; only host 1 serves "s". The caller is host 1 (same host) or host 0 (cross-host). */
async function setup(where: "same host" | "cross-host") {
  const provider = createMemoryProvider();
  const probe: Probe = { invokes: 0, peekStreamsRunning: 0, maxPeekStreams: 0, signals: [] };
  const hosts = [0, 1].map(() =>
    createTestHost({ provider, logger: QUIET, maxRequestBodySizeBytes: MAX_BODY, shutdownGracePeriodMs: 500 })
  );
  hosts[1].registerActor("s", () => streamActor(probe));
  await Promise.all(hosts.map((h) => h.start()));
  const caller: LocalHost = where === "same host" ? hosts[1] : hosts[0];
  return {
    probe,
    service: caller.service,
    async [Symbol.asyncDispose]() {
      await Promise.all(hosts.map((h) => h.stop()));
    },
  };
}

for (const where of ["same host", "cross-host"] as const) {
  Deno.test(`streams (${where}): echo returns the content type and body; 250 KB round-trips byte-identical (C-62)`, async () => {
    await using t = await setup(where);
    const hello = await t.service.invokeStream("s", "a", "echo", { contentType: "text/x-hello", body: "hello" });
    assert.equal(hello.contentType, "text/x-hello");
    assert.equal(await new Response(hello.body).text(), "hello");

    const big = new Uint8Array(250_000).map((_, i) => (i * 2_654_435_761) >>> 24);
    const asBytes = await t.service.invokeStream("s", "a", "echo", { body: big });
    assert.equal(asBytes.contentType, "application/octet-stream");
    assert.deepEqual(new Uint8Array(await new Response(asBytes.body).arrayBuffer()), big);

    const pieces = [big.subarray(0, 1), big.subarray(1, 100_000), big.subarray(100_000)];
    const asStream = await t.service.invokeStream("s", "a", "buffered", { body: streamOf(pieces) });
    assert.deepEqual(new Uint8Array(await new Response(asStream.body).arrayBuffer()), big);

    const text = await t.service.invokeStream("s", "a", "text");
    assert.equal(text.contentType, "text/plain; charset=utf-8");
    assert.equal(await new Response(text.body).text(), "plain text");
    assert.equal(t.probe.lastRequestType, "application/octet-stream");

    const empty = await t.service.invokeStream("s", "a", "empty");
    assert.equal(empty.contentType, "application/octet-stream");
    assert.equal((await new Response(empty.body).arrayBuffer()).byteLength, 0);

    const large = await t.service.invokeStream("s", "a", "big");
    assert.equal((await new Response(large.body).arrayBuffer()).byteLength, 40 * 64 * 1024);
  });

  Deno.test(`streams (${where}): an unread body holds the turn; reading or cancelling it releases the actor (C-63)`, async () => {
    await using t = await setup(where);
    const first = await t.service.invokeStream("s", "b", "big");
    // While the body is unread, an invoke cannot get the turn: it is still waiting when its deadline passes
    // (an invoke on a free actor answers in well under a millisecond), and the aborted call never runs.
    const held = () => t.service.invoke("s", "b", "inc", undefined, { signal: AbortSignal.timeout(300) });
    await assert.rejects(held(), (e) => (e as Error).name === "TimeoutError");
    assert.equal(t.probe.invokes, 0);
    const queued = t.service.invoke<number>("s", "b", "inc");
    await new Response(first.body).arrayBuffer();
    assert.equal(await queued, 1);

    const second = await t.service.invokeStream("s", "b", "big");
    const reader = second.body.getReader();
    await reader.read();
    await assert.rejects(held(), (e) => (e as Error).name === "TimeoutError");
    assert.equal(t.probe.invokes, 1);
    const next = t.service.invoke<number>("s", "b", "inc");
    await reader.cancel();
    assert.equal(await next, 2);
  });

  Deno.test(`streams (${where}): peekStreams share the turn; a caller abort releases the actor`, async () => {
    await using t = await setup(where);
    const a = await t.service.peekStream("s", "c", "p");
    const b = await t.service.peekStream("s", "c", "p"); // resolves although a's body is unread: shared turns
    assert.equal(t.probe.maxPeekStreams, 2);
    await a.body.cancel();
    await b.body.cancel();

    const controller = new AbortController();
    const held = await t.service.invokeStream("s", "c", "big", { signal: controller.signal });
    controller.abort(new Error("caller gave up"));
    await assert.rejects(new Response(held.body).arrayBuffer());
    assert.equal(await t.service.invoke<number>("s", "c", "inc"), 1);
  });

  Deno.test(`streams (${where}): a request body over maxRequestBodySizeBytes rejects with PayloadTooLargeError (C-64)`, async () => {
    await using t = await setup(where);
    const tooBig = new Uint8Array(MAX_BODY + 1);
    await assert.rejects(
      t.service.invokeStream("s", "d", "buffered", { body: tooBig }),
      (e) => isFrancisError(e, "payload_too_large"),
    );
    const chunks = Array.from({ length: 10 }, () => new Uint8Array(40_000));
    await assert.rejects(
      t.service.invokeStream("s", "d", "buffered", { body: streamOf(chunks) }),
      (e) => isFrancisError(e, "payload_too_large"),
    );
    // Exactly at the bound is fine, and the actor is free again.
    const ok = await t.service.invokeStream("s", "d", "buffered", { body: new Uint8Array(MAX_BODY) });
    assert.equal((await new Response(ok.body).arrayBuffer()).byteLength, MAX_BODY);
    assert.equal(await t.service.invoke<number>("s", "d", "inc"), 1);
  });

  Deno.test(`streams (${where}): a body that errors after its first chunk rejects the read with InvokeFailedError (C-65)`, async () => {
    await using t = await setup(where);
    const result = await t.service.invokeStream("s", "e", "failMidBody");
    const reader = result.body.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), "first");
    await assert.rejects(reader.read(), (e: unknown) => {
      assert.ok(isFrancisError(e, "invoke_failed"), String(e));
      assert.match((e as Error).message, /body-boom/);
      return true;
    });
    assert.equal(await t.service.invoke<number>("s", "e", "inc"), 1);
  });

  Deno.test(`streams (${where}): a handler throw rejects the call; errors and bad arguments are clear`, async () => {
    await using t = await setup(where);
    await assert.rejects(
      t.service.invokeStream("s", "f", "throw"),
      (e) => isFrancisError(e, "invoke_failed") && /handler-boom/.test((e as Error).message),
    );
    await assert.rejects(
      t.service.invokeStream("s", "never-activated", "echo", { activeOnly: true, body: "x" }),
      (e) => isFrancisError(e, "actor_not_active"),
    );
    await assert.rejects(
      t.service.invokeStream("nobody", "f", "x"),
      (e) => isFrancisError(e, "actor_type_unsupported"),
    );
    await assert.rejects(
      t.service.invokeStream("s", "f", "x", { body: 5 as unknown as string }),
      (e) => e instanceof TypeError && /^Cannot invoke actor stream: body must be/.test(e.message),
    );
    await assert.rejects(
      t.service.peekStream("s", "f", "x", { contentType: "" }),
      (e) => e instanceof TypeError && /^Cannot peek actor stream: contentType/.test(e.message),
    );
    const locked = streamOf([]);
    locked.getReader();
    await assert.rejects(t.service.invokeStream("s", "f", "x", { body: locked }), TypeError);
    await assert.rejects(
      t.service.invokeStream("francis.builtin.x", "f", "m"),
      (e) => isFrancisError(e, "actor_type_reserved"),
    );
  });
}

Deno.test("streams: an actor without invokeStream answers InvokeModeUnsupportedError; a stream to self is re-entrant", async () => {
  const provider = createMemoryProvider();
  const hosts = [0, 1].map(() => createTestHost({ provider, logger: QUIET }));
  hosts[1].registerActor("plain", () => ({ invoke: () => 1 }));
  hosts[1].registerActor("selfish", (id, service) => ({
    invoke: () => service.invokeStream("selfish", id, "x"),
  }));
  await Promise.all(hosts.map((h) => h.start()));
  try {
    for (const caller of hosts) {
      await assert.rejects(
        caller.service.invokeStream("plain", "p", "m"),
        (e) => isFrancisError(e, "invoke_mode_unsupported"),
      );
      await assert.rejects(
        caller.service.invoke("selfish", "s", "m"),
        (e) => isFrancisError(e, "invoke_failed") && /already waiting/.test((e as Error).message),
      );
    }
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
});

Deno.test("streams (cross-host): stopping the owner aborts the turn of an unread stream within the grace period, and the stop completes", async () => {
  await using t = await setup("cross-host");
  const held = await t.service.invokeStream("s", "g", "big");
  const signal = t.probe.signals.at(-1)!;
  const stopping = t[Symbol.asyncDispose]();
  await waitFor(() => signal.aborted, { timeoutMs: 5_000 });
  await stopping;
  await held.body.cancel().catch(() => {});
});
