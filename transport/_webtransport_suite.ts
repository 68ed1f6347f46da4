/**
 * The transport conformance suite over the experimental WebTransport
 * transport. It needs `--unstable-net`, so the normal test run does not load
 * it: `webtransport_test.ts` runs it in a child process.
 *
 * ```sh
 * deno test --unstable-net -A --sanitize-ops --sanitize-resources transport/_webtransport_suite.ts
 * ```
 *
 * @module
 */

import { createHostCredentials } from "../security/credentials.ts";
import { runTransportSuite, type SuiteHostOptions } from "./_suite.ts";
import { certificateHash, createWebTransportTransport } from "./webtransport.ts";
import type { LinkCredentials, Transport, TransportListener } from "./types.ts";

const PSK = new Uint8Array(32).fill(11);
const OTHER_PSK = new Uint8Array(32).fill(12);
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cache = new Map<string, Promise<LinkCredentials>>();
/** Where each test server listens → the hash of the certificate it serves (what hosts would publish). */
const published = new Map<string, Uint8Array>();

function credentials(hostId: string, cluster: "main" | "other" = "main"): Promise<LinkCredentials> {
  const key = `${cluster}/${hostId}`;
  let c = cache.get(key);
  if (c === undefined) cache.set(key, c = createHostCredentials([cluster === "other" ? OTHER_PSK : PSK], hostId));
  return c;
}

async function make(o: SuiteHostOptions): Promise<Transport> {
  const creds = await credentials(o.hostId, o.cluster);
  const transport = createWebTransportTransport({
    credentials: creds,
    handler: o.handler ?? ((b) => b),
    maxInFlightRequests: o.maxInFlightRequests ?? 100,
    maxFrameBytes: o.maxFrameBytes,
    onLink: o.onLink,
    logger: silent,
    resolveServerCertificateHash: (address) => published.get(address),
  });
  const hash = await certificateHash(creds.certPem);
  const listen = transport.listen.bind(transport);
  transport.listen = async (host: string, port: number): Promise<TransportListener> => {
    const listener = await listen(host, port);
    published.set(`${host}:${listener.port}`, hash);
    return listener;
  };
  return transport;
}

/** A UDP port that was free a moment ago, with a hash published for it so that the dial really tries. */
function refusedAddress(): Promise<string> {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const address = `127.0.0.1:${(socket.addr as Deno.NetAddr).port}`;
  socket.close();
  published.set(address, new Uint8Array(32).fill(7));
  return Promise.resolve(address);
}

Deno.test("WebTransport transport conforms", async (t) => {
  // QUIC has no refusal: a dial to a closed UDP port times out (see `refusesConnections`).
  await runTransportSuite(t, { make, listenHost: "127.0.0.1", refusedAddress, refusesConnections: false });
});
