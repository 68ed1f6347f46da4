/**
 * Real `node:tls` links on 127.0.0.1 with certificates from our own cluster CA:
 * mTLS (TLS 1.3, requestCert, rejectUnauthorized, ca), then the exporter-bound
 * link proof in both directions, as the transport is meant to do it.
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createHostCredentials, type HostCredentials } from "./credentials.ts";
import { identityFromPeerCertificate, parseIdentity } from "./identity.ts";
import { computeLinkProof, tlsExporter, verifyLinkProof } from "./link_proof.ts";

const enc = new TextEncoder();
const oldPsk = enc.encode("old runtime pre-shared key, 32 bytes or more");
const newPsk = enc.encode("new runtime pre-shared key, 32 bytes or more");

interface Side {
  exporter: Uint8Array;
  peerId: string | undefined;
  proofOk: boolean;
}
interface Outcome {
  client?: Side;
  server?: Side;
  clientError?: Error;
  serverError?: Error;
}

function readExactly(sock: tls.TLSSocket, n: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let buf = new Uint8Array(0);
    const onData = (chunk: Uint8Array) => {
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf);
      next.set(chunk, buf.length);
      buf = next;
      if (buf.length >= n) {
        sock.off("data", onData);
        resolve(buf.subarray(0, n));
      }
    };
    sock.on("data", onData);
    sock.once("close", () => reject(new Error("closed before the proof arrived")));
  });
}

function peerId(sock: tls.TLSSocket): string | undefined {
  const identity = identityFromPeerCertificate(sock.getPeerCertificate());
  return identity === undefined ? undefined : parseIdentity(identity)?.id;
}

/** One connection: mTLS handshake, then client proof → server, server proof → client. */
async function link(server: HostCredentials, client: HostCredentials, opts: { checkIdentity?: boolean } = {}) {
  const out: Outcome = {};
  const sockets = new Set<tls.TLSSocket>();
  const srv = tls.createServer({
    key: server.keyPem,
    cert: server.certPem,
    ca: [...server.caPems],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
  }, async (sock) => {
    sockets.add(sock);
    sock.on("error", (err) => out.serverError ??= err);
    try {
      const exporter = tlsExporter(sock, "server");
      const id = peerId(sock)!;
      const ids = { clientId: id, serverId: server.hostId };
      const proof = await readExactly(sock, 32);
      const proofOk = await verifyLinkProof(server.authKeys, "client", exporter, ids, proof);
      out.server = { exporter, peerId: id, proofOk };
      if (proofOk) sock.write(await computeLinkProof(server.authKeys[0], "server", exporter, ids));
      else sock.destroy();
    } catch (err) {
      out.serverError ??= err as Error;
      sock.destroy();
    }
  });
  srv.on("tlsClientError", (err) => out.serverError ??= err);
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((resolve) => {
    const sock = tls.connect({
      host: "127.0.0.1",
      port,
      key: client.keyPem,
      cert: client.certPem,
      ca: [...client.caPems],
      minVersion: "TLSv1.3",
      // The certificates carry no DNS/IP names: the peer is checked by its SPIFFE identity instead.
      ...(opts.checkIdentity === false ? {} : {
        checkServerIdentity: (_host: string, cert: tls.PeerCertificate) =>
          identityFromPeerCertificate(cert) === `spiffe://francis/host/${server.hostId}`
            ? undefined
            : new Error("peer is not the expected host"),
      }),
    }, async () => {
      try {
        const exporter = tlsExporter(sock, "client");
        const ids = { clientId: client.hostId, serverId: peerId(sock)! };
        sock.write(await computeLinkProof(client.authKeys[0], "client", exporter, ids));
        const proof = await readExactly(sock, 32);
        out.client = {
          exporter,
          peerId: ids.serverId,
          proofOk: await verifyLinkProof(client.authKeys, "server", exporter, ids, proof),
        };
      } catch (err) {
        out.clientError ??= err as Error;
      }
      sock.end();
    });
    sockets.add(sock);
    sock.on("error", (err) => out.clientError ??= err);
    sock.on("close", () => resolve());
  });
  for (const sock of sockets) {
    if (!sock.closed) await new Promise((resolve) => sock.once("close", resolve).destroy());
  }
  await new Promise((resolve) => srv.close(resolve));
  return out;
}

const serverCreds = await createHostCredentials([oldPsk], "srv");
const clientCreds = await createHostCredentials([oldPsk], "cli");

Deno.test("tlsExporter: both ends of a real mTLS link get the same 32 bytes; a new connection gets new bytes", async () => {
  const first = await link(serverCreds, clientCreds);
  assert.equal(first.clientError, undefined, first.clientError?.message);
  assert.equal(first.serverError, undefined, first.serverError?.message);
  assert.equal(first.client?.exporter.length, 32);
  assert.deepEqual(first.client?.exporter, first.server?.exporter);
  assert.equal(first.client?.peerId, "srv");
  assert.equal(first.server?.peerId, "cli");
  assert.ok(first.client?.proofOk && first.server?.proofOk);
  const second = await link(serverCreds, clientCreds);
  assert.deepEqual(second.client?.exporter, second.server?.exporter);
  assert.notDeepEqual(second.client?.exporter, first.client?.exporter);
});

Deno.test("tlsExporter: fails closed without a TLS 1.3 exporter", () => {
  assert.throws(() => tlsExporter({ getProtocol: () => "TLSv1.2", getFinished: () => new Uint8Array(32) }, "client"), {
    name: "TypeError",
    message: 'Cannot get TLS exporter: the session must be TLS 1.3 (got "TLSv1.2")',
  });
  assert.throws(() => tlsExporter({ getFinished: () => new Uint8Array(12) }, "client"), TypeError);
  assert.throws(() => tlsExporter({ getFinished: () => new Uint8Array(32) }, "server"), TypeError);
  assert.throws(() => tlsExporter({}, "client"), TypeError);
  const node = { exportKeyingMaterial: (n: number, label: string) => enc.encode(label).slice(0, n) };
  assert.deepEqual(tlsExporter(node, "server"), enc.encode("EXPORTER_DENO_TLS_FINISHED_CLIENT").slice(0, 32));
  const throwing = {
    exportKeyingMaterial: () => {
      throw new Error("not implemented");
    },
    getPeerFinished: () => new Uint8Array(32).fill(9),
  };
  assert.equal(tlsExporter(throwing, "server")[0], 9);
});

Deno.test("mTLS: an expired client leaf is rejected by the server's handshake", async () => {
  const expired = await createHostCredentials([oldPsk], "old", { ttlMs: 60_000, now: Date.now() - 86_400_000 });
  const out = await link(serverCreds, expired);
  assert.equal(out.server, undefined, "the server accepted an expired client certificate");
  // TLS 1.3: the client's secureConnect fires before the server has checked its certificate, so the
  // client often only learns of the rejection when no server proof ever arrives. Deno reports the
  // server's side (when at all) as ECONNRESET "socket hang up", not as an expiry.
  assert.equal(out.client, undefined);
  assert.ok(out.serverError !== undefined || out.clientError !== undefined);
});

Deno.test("mTLS: an expired server leaf is rejected by the client", async () => {
  const expired = await createHostCredentials([oldPsk], "srv", { ttlMs: 60_000, now: Date.now() - 86_400_000 });
  const out = await link(expired, clientCreds);
  assert.equal(out.client, undefined);
  assert.equal(out.server, undefined);
  // Node says CERT_HAS_EXPIRED; Deno 2.9 says UNABLE_TO_VERIFY_LEAF_SIGNATURE for the same certificate.
  assert.match(
    String((out.clientError as { code?: string })?.code),
    /CERT_HAS_EXPIRED|UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
  );
});

Deno.test("mTLS: a leaf from another cluster's CA is rejected; without checkServerIdentity the IP check fails", async () => {
  const foreign = await createHostCredentials([newPsk], "cli");
  const out = await link(serverCreds, foreign);
  assert.equal(out.server, undefined, "the server accepted a foreign client certificate");
  const noCheck = await link(serverCreds, clientCreds, { checkIdentity: false });
  assert.equal(noCheck.client, undefined);
  assert.match(String((noCheck.clientError as { code?: string })?.code), /ERR_TLS_CERT_ALTNAME_INVALID/);
});

Deno.test("rotation (C-99): [old,new] ↔ [old] and [new,old] ↔ [old,new] interoperate; [new,old] ↔ [old] does not", async () => {
  const oldOnly = await createHostCredentials([oldPsk], "a");
  const oldNew = await createHostCredentials([oldPsk, newPsk], "b");
  const newOld = await createHostCredentials([newPsk, oldPsk], "c");
  for (const [s, c] of [[oldNew, oldOnly], [oldOnly, oldNew], [newOld, oldNew], [oldNew, newOld]]) {
    const out = await link(s, c);
    assert.ok(
      out.client?.proofOk && out.server?.proofOk,
      `${s.hostId} ← ${c.hostId}: ${out.clientError ?? out.serverError}`,
    );
  }
  const broken = await link(oldOnly, newOld);
  assert.notEqual(broken.client?.proofOk, true);
});
