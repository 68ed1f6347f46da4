import assert from "node:assert/strict";
import { generatePsk } from "../_internal/psk.ts";
import { waitFor } from "../testing/wait_for.ts";
import { PeerLinks } from "./peer_links.ts";
import { createHostCredentials } from "../security/credentials.ts";

const QUIET = { debug() {}, info() {}, warn() {}, error() {} };
const psks = [new TextEncoder().encode(generatePsk())];

function open(hostId: string, leafTtlMs: number): Promise<PeerLinks> {
  return PeerLinks.open({
    credentials: () => createHostCredentials(psks, hostId, { ttlMs: leafTtlMs }),
    hostId,
    listen: { host: "127.0.0.1", port: 0 },
    maxInFlightRequests: 10,
    keepaliveMs: 5_000,
    logger: QUIET,
    serve: (body) => Promise.resolve(body),
    onLink: () => {},
  });
}

Deno.test("peer links: host certificates are renewed at half-life, and links made after the first expired work", async () => {
  const ttl = 1_200;
  const a = await open("host-a", ttl);
  const b = await open("host-b", ttl);
  try {
    const firstExpiry = Date.now() + ttl;
    const dial = () => b.transport.dial({ address: `127.0.0.1:${a.port}`, expectedPeerId: "host-a", timeoutMs: 2_000 });
    const early = await dial();
    assert.deepEqual(await early.request(new Uint8Array([1])), new Uint8Array([1]));
    await waitFor(() => Date.now() > firstExpiry + 100 && a.renewals >= 2 && b.renewals >= 2, {
      what: "both hosts to renew past their first certificate's expiry",
      timeoutMs: 10_000,
    });
    const late = await dial();
    assert.deepEqual(await late.request(new Uint8Array([2])), new Uint8Array([2]));
    // A link made before the renewal keeps working: certificates are checked at the handshake only.
    assert.deepEqual(await early.request(new Uint8Array([3])), new Uint8Array([3]));
  } finally {
    await b.close();
    await a.close();
  }
});
