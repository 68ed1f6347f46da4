import net from "node:net";
import { createHostCredentials } from "../security/credentials.ts";
import { runTransportSuite, type SuiteHostOptions } from "./_suite.ts";
import { createTlsTransport } from "./tls.ts";
import type { LinkCredentials, Transport } from "./types.ts";

const PSK = new Uint8Array(32).fill(11);
const OTHER_PSK = new Uint8Array(32).fill(12);
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cache = new Map<string, Promise<LinkCredentials>>();

function credentials(hostId: string, cluster: "main" | "other" = "main"): Promise<LinkCredentials> {
  const key = `${cluster}/${hostId}`;
  let c = cache.get(key);
  if (c === undefined) cache.set(key, c = createHostCredentials([cluster === "other" ? OTHER_PSK : PSK], hostId));
  return c;
}

async function make(o: SuiteHostOptions): Promise<Transport> {
  return createTlsTransport({
    credentials: await credentials(o.hostId, o.cluster),
    handler: o.handler ?? ((b) => b),
    maxInFlightRequests: o.maxInFlightRequests ?? 100,
    maxFrameBytes: o.maxFrameBytes,
    onLink: o.onLink,
    logger: silent,
  });
}

/** A port that was free a moment ago (bound, then released). */
async function refusedAddress(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}

Deno.test("TLS transport conforms", async (t) => {
  await runTransportSuite(t, { make, listenHost: "127.0.0.1", refusedAddress });
});
