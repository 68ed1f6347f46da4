import assert from "node:assert/strict";
import { hkdfSha256 } from "../../security/_bytes.ts";
import { deriveLinkAuthKey } from "../../security/link_proof.ts";
import { computeBootstrapProof, deriveHostPskKey, newNonce, verifyBootstrapProof } from "./psk_proof.ts";

const psk = "worker-bootstrap-secret-123";
const key = await deriveHostPskKey(psk);
const exporter = newNonce();
const clientNonce = newNonce();
const serverNonce = newNonce();

Deno.test("deriveHostPskKey: deterministic, string = UTF-8 bytes, distinct from link and CA keys", async () => {
  const bytes = new TextEncoder().encode(psk);
  assert.equal(key.length, 32);
  assert.deepEqual(await deriveHostPskKey(bytes), key);
  assert.notDeepEqual(await deriveHostPskKey("worker-bootstrap-secret-124"), key);
  assert.notDeepEqual(await deriveLinkAuthKey(bytes), key);
  assert.notDeepEqual(await hkdfSha256(bytes, "francis/cluster-ca/v1", "ed25519", 32), key);
  await assert.rejects(() => deriveHostPskKey(new Uint8Array(15)), {
    name: "RangeError",
    message: "Cannot derive host PSK key: hostPsk must be at least 16 bytes (got 15)",
  });
  await assert.rejects(() => deriveHostPskKey(42 as unknown as Uint8Array), TypeError);
  assert.equal((await deriveHostPskKey(new Uint8Array(16))).length, 32);
});

Deno.test("newNonce: 32 fresh random bytes", () => {
  const a = newNonce(), b = newNonce();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
});

Deno.test("verifyBootstrapProof: accepts the matching proof; the proof is deterministic", async () => {
  const proof = await computeBootstrapProof(key, exporter, clientNonce, serverNonce);
  assert.equal(proof.length, 32);
  assert.deepEqual(await computeBootstrapProof(key, exporter, clientNonce, serverNonce), proof);
  assert.equal(await verifyBootstrapProof(key, exporter, clientNonce, serverNonce, proof), true);
});

Deno.test("verifyBootstrapProof: wrong PSK, other session, other challenge, swapped nonces", async () => {
  const proof = await computeBootstrapProof(key, exporter, clientNonce, serverNonce);
  const wrongKey = await deriveHostPskKey("another-bootstrap-secret");
  assert.equal(await verifyBootstrapProof(wrongKey, exporter, clientNonce, serverNonce, proof), false, "wrong PSK");
  const wrongProof = await computeBootstrapProof(wrongKey, exporter, clientNonce, serverNonce);
  assert.equal(
    await verifyBootstrapProof(key, exporter, clientNonce, serverNonce, wrongProof),
    false,
    "from wrong PSK",
  );
  const relayed = exporter.slice();
  relayed[0] ^= 1;
  assert.equal(await verifyBootstrapProof(key, relayed, clientNonce, serverNonce, proof), false, "other exporter");
  assert.equal(await verifyBootstrapProof(key, exporter, clientNonce, newNonce(), proof), false, "replayed challenge");
  assert.equal(await verifyBootstrapProof(key, exporter, newNonce(), serverNonce, proof), false, "other client nonce");
  assert.equal(await verifyBootstrapProof(key, exporter, serverNonce, clientNonce, proof), false, "swapped nonces");
});

Deno.test("verifyBootstrapProof: malformed peer values are false, never a throw", async () => {
  const proof = await computeBootstrapProof(key, exporter, clientNonce, serverNonce);
  const v = (nonce: unknown, p: unknown) =>
    verifyBootstrapProof(key, exporter, nonce as Uint8Array, serverNonce, p as Uint8Array);
  assert.equal(await v(clientNonce, proof.subarray(0, 31)), false, "truncated");
  assert.equal(await v(clientNonce, new Uint8Array(0)), false, "empty");
  const longer = new Uint8Array(33);
  longer.set(proof);
  assert.equal(await v(clientNonce, longer), false, "extended");
  const flipped = proof.slice();
  flipped[31] ^= 0x80;
  assert.equal(await v(clientNonce, flipped), false, "one bit flipped");
  assert.equal(await v(clientNonce, "proof"), false, "a string");
  assert.equal(await v(clientNonce, undefined), false, "undefined");
  assert.equal(await v(clientNonce.subarray(0, 16), proof), false, "short client nonce");
  assert.equal(await v(null, proof), false, "no client nonce");
});

Deno.test("compute/verify: malformed local values throw TypeError", async () => {
  await assert.rejects(() => computeBootstrapProof(new Uint8Array(31), exporter, clientNonce, serverNonce), {
    name: "TypeError",
    message: "Cannot compute bootstrap proof: key must be a 32-byte Uint8Array (got 31 bytes)",
  });
  await assert.rejects(() => computeBootstrapProof(key, new Uint8Array(12), clientNonce, serverNonce), TypeError);
  await assert.rejects(() => computeBootstrapProof(key, exporter, new Uint8Array(1), serverNonce), TypeError);
  await assert.rejects(() => computeBootstrapProof(key, exporter, clientNonce, "x" as never), TypeError);
  const proof = await computeBootstrapProof(key, exporter, clientNonce, serverNonce);
  await assert.rejects(() => verifyBootstrapProof(key, exporter, clientNonce, new Uint8Array(8), proof), {
    name: "TypeError",
    message: "Cannot verify bootstrap proof: serverNonce must be a 32-byte Uint8Array (got 8 bytes)",
  });
  await assert.rejects(() => verifyBootstrapProof(null as never, exporter, clientNonce, serverNonce, proof), TypeError);
});

Deno.test("transcript: fixed label and length prefixes (known-answer)", async () => {
  // Recompute the HMAC by hand from the documented transcript.
  const label = new TextEncoder().encode("francis/bootstrap/v1");
  const parts = [label, exporter, clientNonce, serverNonce];
  const data = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    new DataView(data.buffer).setUint32(at, p.length);
    data.set(p, at + 4);
    at += 4 + p.length;
  }
  const k = await crypto.subtle.importKey("raw", key.slice(), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const expected = new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
  assert.deepEqual(await computeBootstrapProof(key, exporter, clientNonce, serverNonce), expected);
});
