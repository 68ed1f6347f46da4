/**
 * The waiting side of signals against a fake host access: waiters share one
 * call, failures are retried or not by class, and held calls are capped.
 */

import assert from "node:assert/strict";
import { ActorHaltedError, HostNotRunningError, TransportError } from "../../errors.ts";
import { jsonCodec } from "../../_internal/codec.ts";
import type { BuiltInAccess } from "../../host_local/builtin.ts";
import type { WaitReply } from "./_actor.ts";
import { HOLD_MS, MAX_HELD, SharedWaits } from "./_wait.ts";
import { waitFor } from "../../testing/wait_for.ts";

/** An access whose `peek` is `answer`; records every call's hold time. */
function fakeAccess(answer: (id: string, holdMs: number, signal: AbortSignal) => Promise<WaitReply>) {
  const calls: { id: string; holdMs: number }[] = [];
  const access: BuiltInAccess = {
    codec: jsonCodec,
    invoke: () => Promise.reject(new Error("unused")),
    getState: () => Promise.reject(new Error("unused")),
    setState: () => Promise.reject(new Error("unused")),
    deleteState: () => Promise.reject(new Error("unused")),
    dispatch: () => Promise.reject(new Error("unused")),
    getJob: () => Promise.reject(new Error("unused")),
    listJobs: () => Promise.reject(new Error("unused")),
    cancelJob: () => Promise.reject(new Error("unused")),
    retryJob: () => Promise.reject(new Error("unused")),
    deleteDeadJob: () => Promise.reject(new Error("unused")),
    halt: () => Promise.reject(new Error("unused")),
    peek<R>(_t: string, id: string, _m: string, data?: unknown, o?: { signal?: AbortSignal }): Promise<R> {
      const holdMs = (data as { holdMs: number }).holdMs;
      calls.push({ id, holdMs });
      return answer(id, holdMs, o!.signal!) as Promise<R>;
    },
  };
  return { access, calls };
}

/** A reply that arrives when `release` is called or the call is aborted (then rejects). */
function parked(): { answer: (id: string, h: number, s: AbortSignal) => Promise<WaitReply>; release: () => void } {
  const waiting: ((r: WaitReply) => void)[] = [];
  return {
    answer: (_id, _h, signal) =>
      new Promise<WaitReply>((resolve, reject) => {
        waiting.push(resolve);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
    release: () => waiting.splice(0).forEach((r) => r({ done: true, data: "go" })),
  };
}

Deno.test("signal wait: waiters on one host share one call; the last one leaving aborts it", async () => {
  const p = parked();
  const { access, calls } = fakeAccess(p.answer);
  const waits = new SharedWaits(access, "francis.builtin.signal.t");
  const all = [waits.join("s", undefined), waits.join("s", undefined), waits.join("s", undefined)];
  assert.equal(calls.length, 1);
  assert.equal(calls[0].holdMs, HOLD_MS);
  p.release();
  assert.deepEqual(await Promise.all(all), ["go", "go", "go"]);

  const c = new AbortController();
  const lone = waits.join("x", c.signal);
  c.abort(new Error("bye"));
  await assert.rejects(lone, /bye/);
  const again = waits.join("x", undefined); // a fresh call, not the aborted one
  assert.equal(calls.length, 3);
  p.release();
  assert.equal(await again, "go");
});

Deno.test("signal wait: halts and transport failures are retried with backoff; HostNotRunningError is not", async () => {
  let n = 0;
  const { access, calls } = fakeAccess(() => {
    n++;
    if (n === 1) return Promise.reject(new ActorHaltedError("halting"));
    if (n === 2) return Promise.reject(new TransportError("lost"));
    return Promise.resolve({ done: true, data: 42 });
  });
  const started = Date.now();
  assert.equal(await new SharedWaits(access, "t").join("s", undefined), 42);
  assert.equal(calls.length, 3);
  assert.ok(Date.now() - started >= 280, "100 ms then 200 ms backoff");

  const { access: down } = fakeAccess(() => Promise.reject(new HostNotRunningError("stopped")));
  await assert.rejects(new SharedWaits(down, "t").join("s", undefined), HostNotRunningError);
});

Deno.test("signal wait: at most MAX_HELD calls are held per host; the rest poll without holding", async () => {
  const p = parked();
  const { access, calls } = fakeAccess((id, holdMs, signal) =>
    holdMs > 0 ? p.answer(id, holdMs, signal) : Promise.resolve({ done: false })
  );
  const waits = new SharedWaits(access, "t");
  const c = new AbortController();
  const all = Array.from({ length: MAX_HELD + 2 }, (_, i) => waits.join(`s${i}`, c.signal).catch(() => "aborted"));
  assert.equal(calls.filter((x) => x.holdMs > 0).length, MAX_HELD);
  assert.equal(calls.filter((x) => x.holdMs === 0).length, 2);
  p.release(); // frees every hold slot; the pollers take them on their next round
  await waitFor(() => calls.filter((x) => x.holdMs > 0).length === MAX_HELD + 2, {
    what: "every poller to take a hold slot",
  });
  c.abort();
  const results = await Promise.all(all);
  assert.equal(results.filter((r) => r === "go").length, MAX_HELD);
});
