/**
 * (n) Streams (API.md §11): what a streamed call costs next to an `invoke`,
 * and how fast bodies move, same host and across hosts.
 *
 * Two `LocalHost`s in the benchmark process share a memory store and are
 * linked by real mutual TLS; only host B serves the actor, so calls made
 * through host A cross the link. Both hosts share this process's CPU, so the
 * cross-host rates are a lower bound of two separate processes.
 *
 * - Small call: sequential `invokeStream` with a 2-byte body and a 2-byte
 *   streamed answer, read to the end; p50 next to the p50 of an `invoke`.
 * - Throughput: 64 MiB in 256 KiB chunks, upload only (the actor reads and
 *   discards), download only, and echo (both at once).
 *
 * No issue sets a target for streams: the figures are for the record.
 *
 * @module
 */

import { createMemoryProvider } from "../providers/memory/mod.ts";
import type { StreamRequest } from "../mod.ts";
import { metric, type ScenarioOptions, type ScenarioResult, summarize } from "./_stats.ts";
import { createHost } from "./_util.ts";

const CHUNK = 256 * 1024;

function source(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(CHUNK);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      sent += CHUNK;
      c.enqueue(chunk);
    },
  });
}

async function drain(body: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of body) n += c.length;
  return n;
}

/** Runs scenario (n). */
export async function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const calls = quick ? 300 : 3_000;
  const bytes = (quick ? 16 : 64) * 1_048_576;
  const provider = createMemoryProvider();
  const [a, b] = [0, 1].map(() => createHost(provider, { maxRequestBodySizeBytes: 1 << 30 }));
  b.registerActor("streamer", () => ({
    invoke: () => "ok",
    async invokeStream(method: string, request: StreamRequest) {
      if (method === "echo") return { body: request.body };
      if (method === "up") return { body: String(await drain(request.body)) };
      if (method === "down") return { body: source(bytes) };
      return { body: new Response(request.body).body ?? "" };
    },
  }));
  await Promise.all([a.start(), b.start()]);
  try {
    const latency = async (host: typeof a, kind: "invoke" | "stream") => {
      const samples = new Float64Array(calls);
      for (let i = -calls / 10; i < calls; i++) {
        const t0 = performance.now();
        if (kind === "invoke") await host.service.invoke("streamer", "s", "ping");
        else await drain((await host.service.invokeStream("streamer", "s", "small", { body: "hi" })).body);
        if (i >= 0) samples[i] = (performance.now() - t0) * 1000;
      }
      return summarize(samples);
    };
    const rate = async (host: typeof a, method: "up" | "down" | "echo") => {
      const t0 = performance.now();
      const body = method === "down" ? "" : source(bytes);
      const got = await drain((await host.service.invokeStream("streamer", "s", method, { body })).body);
      const seconds = (performance.now() - t0) / 1000;
      if (method !== "up" && got !== bytes) throw new Error(`${method}: received ${got} of ${bytes} bytes`);
      return bytes / 1_048_576 / seconds;
    };
    const crossInvoke = await latency(a, "invoke");
    const crossStream = await latency(a, "stream");
    const localStream = await latency(b, "stream");
    const figures = {
      crossUp: await rate(a, "up"),
      crossDown: await rate(a, "down"),
      crossEcho: await rate(a, "echo"),
      localDown: await rate(b, "down"),
      localEcho: await rate(b, "echo"),
    };
    return {
      metrics: [
        metric("cross-host small stream p50", crossStream.p50, "µs"),
        metric("cross-host invoke p50 (same run)", crossInvoke.p50, "µs"),
        metric("small stream ÷ invoke, cross-host p50", crossStream.p50 / crossInvoke.p50, "ratio"),
        metric("same-host small stream p50", localStream.p50, "µs"),
        metric("cross-host upload", figures.crossUp, "MiB/s"),
        metric("cross-host download", figures.crossDown, "MiB/s"),
        metric("cross-host echo (both ways at once)", figures.crossEcho, "MiB/s"),
        metric("same-host download", figures.localDown, "MiB/s"),
        metric("same-host echo", figures.localEcho, "MiB/s"),
      ],
      params: { calls, bytes, chunkBytes: CHUNK },
      notes: [
        "Both hosts run in the benchmark process (one event loop for both ends of the TLS link).",
        "A small stream answers in one round trip: open carries the body, its answer carries the whole response.",
        "Bodies cross hosts in chunks of at most 1 MiB, one request per chunk each way, with backpressure.",
      ],
      details: { crossStreamUs: crossStream, crossInvokeUs: crossInvoke, localStreamUs: localStream },
    };
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}
