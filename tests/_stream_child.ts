/**
 * Child process of stream_crash_test.ts: a host on a SQLite file serving
 * `streamer`, whose `invokeStream` answers one chunk and then never ends. It
 * prints `ready` once started. The parent kills it with SIGKILL.
 *
 * Usage: deno run -A tests/_stream_child.ts <db-path> <psk>
 */

import { LocalHost } from "../mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";

const [path, psk] = Deno.args;
const host = new LocalHost({
  address: "127.0.0.1:0",
  runtimePsks: [psk],
  provider: createSqliteProvider({ path }),
  healthCheckDeadlineMs: 2_000,
});
host.registerActor("streamer", () => ({
  invokeStream: () => ({
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("first"));
      },
    }),
  }),
}));
await host.start();
Deno.stdout.writeSync(new TextEncoder().encode("ready\n"));
