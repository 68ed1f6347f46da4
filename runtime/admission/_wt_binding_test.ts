import assert from "node:assert/strict";
import { computeBootstrapProof, deriveHostPskKey, newNonce, verifyBootstrapProof } from "./psk_proof.ts";
import { signWtAdmission, verifyWtAdmission, type WtAdmissionInput, wtAdmissionTranscript } from "./_wt_binding.ts";

const keys = await crypto.subtle.generateKey("Ed25519", true, ["sign", "verify"]) as CryptoKeyPair;
const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
const base: WtAdmissionInput = {
  runtimeCertHash: newNonce(),
  clientNonce: newNonce(),
  serverNonce: newNonce(),
  kind: "psk",
  subject: spki,
  clientOnly: false,
};

Deno.test("wt binding: the transcript changes with every input", async () => {
  const t = await wtAdmissionTranscript(base);
  assert.equal(t.length, 32);
  assert.deepEqual(await wtAdmissionTranscript({ ...base }), t, "deterministic");
  const variants: Partial<WtAdmissionInput>[] = [
    { runtimeCertHash: newNonce() },
    { clientNonce: newNonce() },
    { serverNonce: newNonce() },
    { kind: "jwt" },
    { subject: spki.slice(1) },
    { token: "t" },
    { clientOnly: true },
  ];
  for (const v of variants) {
    assert.notDeepEqual(await wtAdmissionTranscript({ ...base, ...v }), t, JSON.stringify(Object.keys(v)));
  }
  await assert.rejects(wtAdmissionTranscript({ ...base, serverNonce: new Uint8Array(31) }), TypeError);
});

Deno.test("wt binding: a PSK proof or a signature made for another runtime certificate is refused", async () => {
  const key = await deriveHostPskKey("worker-bootstrap-secret-123");
  // What a worker computes when it talks to a server with another certificate (a relay without the runtime's key).
  const relayed = await wtAdmissionTranscript({ ...base, runtimeCertHash: newNonce() });
  const proof = await computeBootstrapProof(key, relayed, base.clientNonce, base.serverNonce);
  const signature = await signWtAdmission(keys.privateKey, relayed);
  // What the real runtime checks, with its own certificate hash.
  const real = await wtAdmissionTranscript(base);
  assert.equal(await verifyBootstrapProof(key, real, base.clientNonce, base.serverNonce, proof), false);
  assert.equal(await verifyWtAdmission(keys.publicKey, real, signature), false);
  assert.equal(await verifyWtAdmission(keys.publicKey, relayed, signature), true);
  const wrongKey = await deriveHostPskKey("another-host-psk-of-16+");
  const forged = await computeBootstrapProof(wrongKey, real, base.clientNonce, base.serverNonce);
  assert.equal(await verifyBootstrapProof(key, real, base.clientNonce, base.serverNonce, forged), false);
  assert.equal(await verifyWtAdmission(keys.publicKey, real, new Uint8Array(3)), false, "malformed: false, no throw");
});
