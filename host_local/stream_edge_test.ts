/**
 * Edge cases of streamed calls (API.md §11): request bodies the actor does not
 * read, caller aborts and owner-side sessions.
 */

import assert from "node:assert/strict";
import { isFrancisError } from "../errors.ts";
import type { Actor, StreamRequest } from "../actor/types.ts";
import { createMemoryProvider } from "../providers/memory/mod.ts";
import { createTestHost } from "../testing/test_host.ts";
import { waitFor } from "../testing/wait_for.ts";
import type { Activation, ActorTable } from "./actor_table.ts";
import type { Invoker } from "./invoker.ts";
import { StreamSessions } from "./stream_serve.ts";
import type { StreamMessage, StreamOpen } from "./stream_protocol.ts";
import { TurnContext } from "./turn_context.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };

/** Owner-side sessions over a stub table: one actor instance, turns counted. */
function stubSessions(instance: Actor) {
  const turns = { begun: 0, ended: 0 };
  const halting = new AbortController();
  const invoker = { enterTurn: () => Promise.resolve({ act: {} as Activation, instance }) } as unknown as Invoker;
  const table = {
    beginTurn(_act: Activation, init: Omit<ConstructorParameters<typeof TurnContext>[0], "actorKey" | "halting">) {
      turns.begun++;
      return new TurnContext({ ...init, actorType: "t", actorId: "a", actorKey: "t/a", halting: halting.signal });
    },
    endTurn(_act: Activation, ctx: TurnContext) {
      turns.ended++;
      ctx.settled = true;
      ctx.dispose();
    },
  } as unknown as ActorTable;
  const sessions = new StreamSessions({
    invoker,
    table,
    admit: () => Promise.resolve(undefined),
    maxRequestBodySizeBytes: 1_000_000,
  });
  return { sessions, turns };
}

function openMessage(streamId: string, complete: boolean): StreamOpen {
  return {
    op: "open",
    targetHostId: "h",
    actorType: "t",
    actorId: "a",
    method: "m",
    mode: "invokeStream",
    streamId,
    contentType: "application/octet-stream",
    chain: [],
    activeOnly: false,
    complete,
    data: new Uint8Array(0),
  };
}

/** Tracks whether a promise settled. */
function track<T>(p: Promise<T>): { settled: boolean; promise: Promise<T> } {
  const t = { settled: false, promise: p };
  p.then(() => t.settled = true, () => t.settled = true);
  return t;
}

Deno.test("stream sessions: every request-body chunk waiting for room is answered when the stream ends", async () => {
  // The handler never reads its request body and holds its response open.
  const { sessions, turns } = stubSessions({
    invokeStream: () => ({ body: new ReadableStream<Uint8Array>({ pull() {} }) }),
  });
  const link = new AbortController();
  const handle = (msg: StreamMessage) => sessions.handle(msg, link.signal);
  const opened = handle(openMessage("s1", false));
  const chunks = Array.from(
    { length: 4 },
    () => track(handle({ op: "chunk", streamId: "s1", end: false, data: new Uint8Array(10) })),
  );
  await opened;
  await handle({ op: "cancel", streamId: "s1" });
  await waitFor(() => chunks.every((c) => c.settled), { timeoutMs: 2_000, what: "every chunk answered" });
  assert.equal(turns.ended, 1);
  assert.equal(sessions.size, 0);
});

Deno.test("streams (same host): a request body the handler never reads is cancelled when the turn ends", async () => {
  const provider = createMemoryProvider();
  const host = createTestHost({ provider, logger: QUIET });
  host.registerActor("s", () => ({
    invokeStream: (_m: string, _request: StreamRequest) => ({ body: "ignored your body" }),
  }));
  await host.start();
  try {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(10));
      },
      cancel() {
        cancelled = true;
      },
    });
    const result = await host.service.invokeStream("s", "a", "m", { body });
    assert.equal(await new Response(result.body).text(), "ignored your body");
    await waitFor(() => cancelled, { timeoutMs: 2_000, what: "the request body to be cancelled" });
  } finally {
    await host.stop();
  }
});

// Without the resend of refused stream messages (`sendPastOverload`) this fails in some runs, not all: whether a
// read meets the full limit depends on timing. Kept as a guard; the resend itself is reasoned in stream_forward.ts.
Deno.test("streams (cross-host): a burst of calls that fills the owner's inbound limit does not break a stream being read", async () => {
  const provider = createMemoryProvider();
  const [caller, owner] = [0, 1].map((i) =>
    createTestHost({ provider, logger: QUIET, ...(i === 1 ? { maxInFlightRequests: 3 } : {}) })
  );
  const chunk = new Uint8Array(64 * 1024).fill(1);
  const gate = Promise.withResolvers<void>();
  let running = 0;
  owner.registerActor("slow", () => ({
    invoke: () => {
      running++;
      return gate.promise;
    },
  }));
  owner.registerActor("big", () => ({
    invokeStream: () => {
      let n = 0;
      return { body: new ReadableStream<Uint8Array>({ pull: (c) => n++ < 32 ? c.enqueue(chunk) : c.close() }) };
    },
  }));
  await Promise.all([caller.start(), owner.start()]);
  try {
    const result = await caller.service.invokeStream("big", "b1", "m");
    const reader = result.body.getReader();
    let bytes = (await reader.read()).value!.length;
    // The stream's `watch` holds one of the owner's 3 inbound slots; two held calls take the rest, and every
    // other request from the caller, the stream's reads included, is refused with OverloadedError meanwhile.
    let overloaded = false;
    const burst = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        caller.service.invoke("slow", `s${i}`, "m").catch((e) => {
          if (isFrancisError(e, "overloaded")) overloaded = true;
        })),
    );
    await waitFor(() => running === 2, { what: "the owner's inbound limit to be full" });
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        bytes += value.length;
      }
    })();
    // A refused call has retried once and given up: the limit was full for at least one retry interval, so the
    // stream's reads met it too.
    await waitFor(() => overloaded, { what: "a call refused with OverloadedError" });
    gate.resolve();
    await reading;
    assert.equal(bytes, 32 * chunk.length);
    await burst;
  } finally {
    gate.resolve();
    await Promise.all([caller.stop(), owner.stop()]);
  }
});
