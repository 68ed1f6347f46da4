/**
 * Streams (API.md §11): two `LocalHost`s in one process share a memory store
 * and talk over mutual TLS. Host B serves a `wordcount` actor whose
 * `invokeStream` reads a request body of any size piece by piece and streams
 * back one line per word it has not seen before; host A sends it 2 MiB of
 * text as a `ReadableStream` and reads the answer as it arrives.
 *
 *     deno run -A examples/streams/main.ts
 *
 * @module
 */

import { generatePsk, LocalHost, type StreamRequest } from "../../mod.ts";
import { createMemoryProvider } from "../../providers/memory/mod.ts";

const provider = createMemoryProvider();
const psk = generatePsk();
const [a, b] = [0, 1].map(() => new LocalHost({ address: "127.0.0.1:0", runtimePsks: [psk], provider }));

// Only host B serves the type, so host A's calls cross the network.
b.registerActor("wordcount", () => {
  const seen = new Set<string>();
  return {
    invokeStream(_method: string, request: StreamRequest) {
      let words = 0;
      const body = request.body
        .pipeThrough(new TextDecoderStream())
        .pipeThrough(splitWords())
        .pipeThrough(
          new TransformStream<string, string>({
            transform(word, out) {
              words++;
              if (!seen.has(word)) {
                seen.add(word);
                out.enqueue(`new word #${seen.size}: ${word}\n`);
              }
            },
            flush(out) {
              out.enqueue(`${words} words, ${seen.size} distinct\n`);
            },
          }),
        )
        .pipeThrough(new TextEncoderStream());
      return { contentType: "text/plain; charset=utf-8", body };
    },
  };
});
await Promise.all([a.start(), b.start()]);

try {
  const text = "the quick brown fox jumps over the lazy dog ";
  const target = 2 * 1024 * 1024;
  let sent = 0;
  const upload = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= target) return controller.close();
      const chunk = new TextEncoder().encode(text.repeat(1_000));
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const started = performance.now();
  const result = await a.service.invokeStream("wordcount", "w1", "count", { contentType: "text/plain", body: upload });
  console.log(`content type: ${result.contentType}`);
  for await (const line of result.body.pipeThrough(new TextDecoderStream())) {
    Deno.stdout.writeSync(new TextEncoder().encode(line));
  }
  const ms = performance.now() - started;
  console.log(`sent ${(sent / 1_048_576).toFixed(1)} MiB from host A to host B in ${ms.toFixed(0)} ms`);
} finally {
  await Promise.all([a.stop(), b.stop()]);
}

/** Splits text into words, across chunk boundaries. */
function splitWords(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split(/\s+/);
      rest = parts.pop() ?? "";
      for (const w of parts) if (w !== "") out.enqueue(w);
    },
    flush(out) {
      if (rest !== "") out.enqueue(rest);
    },
  });
}
