import assert from "node:assert/strict";
import { computeLinkProof, deriveLinkAuthKey, verifyLinkProof } from "./link_proof.ts";
import { hkdfSha256 } from "./_bytes.ts";

const enc = new TextEncoder();
const oldKey = await deriveLinkAuthKey(enc.encode("old runtime pre-shared key, 32 bytes or more"));
const newKey = await deriveLinkAuthKey(enc.encode("new runtime pre-shared key, 32 bytes or more"));
const exporter = crypto.getRandomValues(new Uint8Array(32));
const ids = { clientId: "host-a", serverId: "host-b" };

Deno.test("deriveLinkAuthKey: deterministic, per PSK, independent of the CA derivation", async () => {
  const psk = enc.encode("old runtime pre-shared key, 32 bytes or more");
  assert.deepEqual(await deriveLinkAuthKey(psk), oldKey);
  assert.equal(oldKey.length, 32);
  assert.notDeepEqual(oldKey, newKey);
  assert.notDeepEqual(oldKey, await hkdfSha256(psk, "francis/cluster-ca/v1", "ed25519", 32));
  await assert.rejects(() => deriveLinkAuthKey(new Uint8Array(15)), {
    name: "RangeError",
    message: "Cannot derive link auth key: psk must be at least 16 bytes (got 15)",
  });
  await assert.rejects(() => deriveLinkAuthKey("a string" as unknown as Uint8Array), TypeError);
});

Deno.test("verifyLinkProof: accepts the matching proof", async () => {
  const proof = await computeLinkProof(oldKey, "client", exporter, ids);
  assert.equal(proof.length, 32);
  assert.deepEqual(await computeLinkProof(oldKey, "client", exporter, ids), proof);
  assert.equal(await verifyLinkProof([oldKey], "client", exporter, ids, proof), true);
});

Deno.test("verifyLinkProof: rejects wrong key, role, exporter, identities and malformed proofs", async () => {
  const proof = await computeLinkProof(oldKey, "client", exporter, ids);
  const otherExporter = exporter.slice();
  otherExporter[31] ^= 1;
  assert.equal(await verifyLinkProof([newKey], "client", exporter, ids, proof), false, "wrong key");
  assert.equal(await verifyLinkProof([oldKey], "server", exporter, ids, proof), false, "wrong role (reflection)");
  assert.equal(await verifyLinkProof([oldKey], "client", otherExporter, ids, proof), false, "wrong exporter (relay)");
  const swapped = { clientId: ids.serverId, serverId: ids.clientId };
  assert.equal(await verifyLinkProof([oldKey], "client", exporter, swapped, proof), false, "swapped identities");
  // Length prefixes keep ("ab","c") and ("a","bc") apart.
  const shifted = await computeLinkProof(oldKey, "client", exporter, { clientId: "ab", serverId: "c" });
  assert.equal(await verifyLinkProof([oldKey], "client", exporter, { clientId: "a", serverId: "bc" }, shifted), false);
  assert.equal(await verifyLinkProof([oldKey], "client", exporter, ids, proof.subarray(0, 31)), false, "truncated");
  assert.equal(await verifyLinkProof([oldKey], "client", exporter, ids, new Uint8Array(0)), false, "empty");
  const longer = new Uint8Array(33);
  longer.set(proof);
  assert.equal(await verifyLinkProof([oldKey], "client", exporter, ids, longer), false, "extended");
  const flipped = proof.slice();
  flipped[0] ^= 0x80;
  assert.equal(await verifyLinkProof([oldKey], "client", exporter, ids, flipped), false, "one bit flipped");
  assert.equal(await verifyLinkProof([], "client", exporter, ids, proof), false, "no keys");
});

Deno.test("verifyLinkProof: rotation, a proof under any trusted key passes", async () => {
  const byOld = await computeLinkProof(oldKey, "server", exporter, ids);
  const byNew = await computeLinkProof(newKey, "server", exporter, ids);
  assert.equal(await verifyLinkProof([oldKey, newKey], "server", exporter, ids, byOld), true);
  assert.equal(await verifyLinkProof([oldKey, newKey], "server", exporter, ids, byNew), true);
  assert.equal(await verifyLinkProof([newKey, oldKey], "server", exporter, ids, byOld), true);
  assert.equal(await verifyLinkProof([oldKey], "server", exporter, ids, byNew), false, "[old]-only host rejects new");
});

Deno.test("computeLinkProof / verifyLinkProof: misuse throws instead of proving or passing", async () => {
  await assert.rejects(() => computeLinkProof(oldKey, "client", new Uint8Array(12), ids), {
    name: "TypeError",
    message: "Cannot compute link proof: exporter must be a 32-byte Uint8Array (got 12 bytes)",
  });
  await assert.rejects(() => computeLinkProof(new Uint8Array(16), "client", exporter, ids), TypeError);
  await assert.rejects(() => computeLinkProof(oldKey, "peer" as "client", exporter, ids), {
    name: "TypeError",
    message: 'Cannot compute link proof: role must be "client" or "server" (got "peer")',
  });
  const proof = await computeLinkProof(oldKey, "client", exporter, ids);
  await assert.rejects(() => verifyLinkProof([oldKey], "client", new Uint8Array(0), ids, proof), TypeError);
  await assert.rejects(
    () => verifyLinkProof(oldKey as unknown as Uint8Array[], "client", exporter, ids, proof),
    TypeError,
  );
});
