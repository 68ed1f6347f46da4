/**
 * Real TLS, real certificates: connections that must be rejected. Each step
 * asserts that the attacker's connection is closed, that nothing reached the
 * handler or `onLink`, and that the listener still serves a legitimate
 * client afterwards.
 */

import assert from "node:assert/strict";
import net from "node:net";
import tls from "node:tls";
import { RetryLaterError } from "../errors.ts";
import { deriveClusterCa } from "../security/cluster_ca.ts";
import { createHostCredentials } from "../security/credentials.ts";
import { hostIdentity } from "../security/identity.ts";
import { issueLeafCertificate } from "../security/leaf.ts";
import { computeLinkProof, deriveLinkAuthKey, tlsExporter } from "../security/link_proof.ts";
import { within } from "./_suite.ts";
import { encodeHello } from "./_tls_handshake.ts";
import { encodeFrame, FrameType } from "./frames.ts";
import { createTlsTransport } from "./tls.ts";
import type { LinkCredentials } from "./types.ts";

const PSK = new Uint8Array(32).fill(21);
const OTHER_PSK = new Uint8Array(32).fill(22);
const DAY = 86_400_000;
const silent = Deno.env.get("DBG")
  ? { debug: console.log, info: console.log, warn: console.log, error: console.log }
  : { debug() {}, info() {}, warn() {}, error() {} };

/** Resolves when the socket has closed (errors swallowed); fails after 5 s. */
function closed(socket: net.Socket, what: string): Promise<void> {
  socket.on("error", () => {});
  socket.resume(); // consume whatever the server sent (an alert) so that the end of the stream is seen
  if (socket.closed) return Promise.resolve();
  return within(new Promise<void>((resolve) => socket.once("close", () => resolve())), what);
}

/** Resolves with the first data chunk, or `undefined` if the socket closes first. */
function firstData(socket: net.Socket): Promise<Uint8Array | undefined> {
  return new Promise((resolve) => {
    socket.once("data", (d: Uint8Array) => resolve(d));
    socket.once("close", () => resolve(undefined));
  });
}

function rawTls(port: number, creds: Partial<LinkCredentials>, ca: readonly string[]): tls.TLSSocket {
  const s = tls.connect({
    host: "127.0.0.1",
    port,
    ...(creds.certPem ? { cert: creds.certPem, key: creds.keyPem } : {}),
    ca: [...ca],
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
    checkServerIdentity: () => undefined,
  });
  s.on("error", () => {});
  return s;
}

/** A raw TLS client that completes the real handshake and proof with `creds`, then hands the socket over. */
async function authenticatedRaw(port: number, creds: LinkCredentials, serverId: string): Promise<tls.TLSSocket> {
  const s = rawTls(port, creds, creds.caPems);
  await new Promise<void>((resolve) => s.once("secureConnect", () => resolve()));
  const exporter = tlsExporter(s, "client");
  const proof = await computeLinkProof(creds.authKeys[0], "client", exporter, { clientId: creds.hostId, serverId });
  const answer = firstData(s);
  s.write(encodeFrame(FrameType.Hello, 0, encodeHello(creds.hostId, proof)));
  const hello = await within(answer, "server hello");
  assert.ok(hello !== undefined && hello[4] === FrameType.Hello, "server answered with its hello");
  return s;
}

Deno.test("TLS listener rejects bad peers and keeps serving", async (t) => {
  const serverCreds = await createHostCredentials([PSK], "server");
  const clientCreds = await createHostCredentials([PSK], "client");
  let handled = 0;
  const inbound: string[] = [];
  const server = createTlsTransport({
    credentials: serverCreds,
    handler: (b) => (handled++, b),
    maxInFlightRequests: 10,
    maxFrameBytes: 65_536,
    handshakeTimeoutMs: 300,
    onLink: (l, d) => d === "inbound" && inbound.push(l.peerId),
    logger: silent,
  });
  const client = createTlsTransport({
    credentials: clientCreds,
    handler: (b) => b,
    maxInFlightRequests: 10,
    logger: silent,
  });
  const listener = await server.listen("127.0.0.1", 0);
  const port = listener.port;

  /** Nothing got through, and a legitimate client is still served. */
  const stillServes = async () => {
    assert.equal(handled, 0, "no attacker request reached the handler");
    assert.deepEqual(inbound, [], "no attacker link was reported");
    const link = await client.dial({ address: `127.0.0.1:${port}`, expectedPeerId: "server", timeoutMs: 5_000 });
    assert.equal(new TextDecoder().decode(await link.request(new TextEncoder().encode("ok"))), "ok");
    await link.close();
    handled = 0;
    inbound.length = 0;
  };

  try {
    await t.step("certificate from another cluster CA", async () => {
      const foreign = await createHostCredentials([OTHER_PSK], "client");
      const s = rawTls(port, foreign, serverCreds.caPems);
      assert.equal(await firstData(s), undefined);
      await closed(s, "foreign-CA connection closed");
      await stillServes();
    });

    await t.step("right CA, wrong PSK for the link proof", async () => {
      const leaf = await issueLeafCertificate(await deriveClusterCa(PSK), {
        identity: hostIdentity("client"),
        ttlMs: DAY,
      });
      const wrongKey = await deriveLinkAuthKey(OTHER_PSK);
      const creds = { ...clientCreds, certPem: leaf.certPem, keyPem: leaf.keyPem, authKeys: [wrongKey] };
      const s = rawTls(port, creds, creds.caPems);
      await new Promise<void>((resolve) => s.once("secureConnect", () => resolve()));
      const proof = await computeLinkProof(wrongKey, "client", tlsExporter(s, "client"), {
        clientId: "client",
        serverId: "server",
      });
      const answer = firstData(s);
      s.write(encodeFrame(FrameType.Hello, 0, encodeHello("client", proof)));
      assert.equal(await within(answer, "close instead of a hello"), undefined);
      await closed(s, "wrong-proof connection closed");
      // The same through the transport: RetryLaterError, nothing delivered.
      const bad = createTlsTransport({ credentials: creds, handler: (b) => b, maxInFlightRequests: 1, logger: silent });
      const err = await bad.dial({ address: `127.0.0.1:${port}`, expectedPeerId: "server", timeoutMs: 5_000 })
        .catch((e) => e);
      await bad.close();
      assert.ok(err instanceof RetryLaterError, String(err));
      await stillServes();
    });

    await t.step("valid proof, but the hello names another host than the certificate", async () => {
      const mallory = await createHostCredentials([PSK], "mallory");
      const s = rawTls(port, mallory, mallory.caPems);
      await new Promise<void>((resolve) => s.once("secureConnect", () => resolve()));
      const ids = { clientId: "client", serverId: "server" };
      const proof = await computeLinkProof(mallory.authKeys[0], "client", tlsExporter(s, "client"), ids);
      const answer = firstData(s);
      s.write(encodeFrame(FrameType.Hello, 0, encodeHello("client", proof)));
      assert.equal(await within(answer, "close instead of a hello"), undefined);
      await closed(s, "impersonating connection closed");
      await stillServes();
    });

    await t.step("expired certificate", async () => {
      const expired = await createHostCredentials([PSK], "client", { now: Date.now() - 3 * DAY, ttlMs: DAY });
      const s = rawTls(port, expired, expired.caPems);
      assert.equal(await firstData(s), undefined);
      await closed(s, "expired-cert connection closed");
      await stillServes();
    });

    await t.step("relay with stolen cluster certificates forwarding the victim's hello", async () => {
      // The relay holds both peers' certificates and keys (not the PSK) and terminates TLS on both legs.
      let upClosed: Promise<void> | undefined;
      const relay = tls.createServer({
        key: serverCreds.keyPem,
        cert: serverCreds.certPem,
        ca: [...serverCreds.caPems],
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
      }, (down) => {
        const up = rawTls(port, clientCreds, clientCreds.caPems);
        upClosed = closed(up, "relay upstream closed by the server");
        down.on("error", () => {});
        down.pipe(up).pipe(down);
        up.on("close", () => down.destroy());
        down.on("close", () => up.destroy());
      });
      await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", () => resolve()));
      try {
        const relayPort = (relay.address() as net.AddressInfo).port;
        const err = await client.dial({ address: `127.0.0.1:${relayPort}`, expectedPeerId: "server", timeoutMs: 5_000 })
          .catch((e) => e);
        assert.ok(err instanceof RetryLaterError, String(err));
        assert.ok(upClosed !== undefined);
        await upClosed;
      } finally {
        await new Promise<void>((resolve) => relay.close(() => resolve()));
      }
      await stillServes();
    });

    await t.step("plain TCP client that sends nothing is dropped after the handshake bound", async () => {
      const s = net.connect(port, "127.0.0.1");
      await closed(s, "silent TCP connection dropped");
      await stillServes();
    });

    await t.step("plain TCP client sending plaintext", async () => {
      const s = net.connect(port, "127.0.0.1", () => s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
      await closed(s, "plaintext connection closed");
      await stillServes();
    });

    await t.step("TLS client without a certificate", async () => {
      const s = rawTls(port, {}, serverCreds.caPems);
      assert.equal(await firstData(s), undefined);
      await closed(s, "certless connection closed");
      await stillServes();
    });

    await t.step("TLS client that completes the proof but never sends a hello in time", async () => {
      const s = rawTls(port, clientCreds, clientCreds.caPems);
      await closed(s, "hello-less connection dropped");
      await stillServes();
    });

    await t.step("garbage after a valid handshake and hello", async () => {
      const s = await authenticatedRaw(port, clientCreds, "server");
      assert.deepEqual(inbound, ["client"]);
      inbound.length = 0;
      s.write(new Uint8Array([0, 0, 0, 1, 0xee, 0, 0, 0, 1, 0x42, 0x13, 0x37]));
      await closed(s, "garbage connection closed");
      await stillServes();
    });

    await t.step("oversized frame header after a valid handshake", async () => {
      const s = await authenticatedRaw(port, clientCreds, "server");
      inbound.length = 0;
      s.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, FrameType.Request, 0, 0, 0, 1]));
      await closed(s, "oversized-frame connection closed");
      await stillServes();
    });

    await t.step("a second hello on an open link", async () => {
      const s = await authenticatedRaw(port, clientCreds, "server");
      inbound.length = 0;
      s.write(encodeFrame(FrameType.Hello, 0, new Uint8Array(10)));
      await closed(s, "second-hello connection closed");
      await stillServes();
    });
  } finally {
    await client.close();
    await listener.close();
    await server.close();
  }
});
