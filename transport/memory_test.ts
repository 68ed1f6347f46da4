import { runTransportSuite, type SuiteHostOptions } from "./_suite.ts";
import { createMemoryTransport } from "./memory.ts";
import type { Transport } from "./types.ts";

const KEY = new Uint8Array(32).fill(1);
const OTHER_KEY = new Uint8Array(32).fill(2);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

function make(o: SuiteHostOptions): Promise<Transport> {
  return Promise.resolve(createMemoryTransport({
    credentials: {
      hostId: o.hostId,
      certPem: "",
      keyPem: "",
      caPems: ["memory"],
      authKeys: [o.cluster === "other" ? OTHER_KEY : KEY],
    },
    handler: o.handler ?? ((b) => b),
    maxInFlightRequests: o.maxInFlightRequests ?? 100,
    maxFrameBytes: o.maxFrameBytes,
    onLink: o.onLink,
    logger: silent,
  }));
}

Deno.test("memory transport conforms", async (t) => {
  await runTransportSuite(t, { make, listenHost: "127.0.0.1", refusedAddress: () => Promise.resolve("127.0.0.1:1") });
});
