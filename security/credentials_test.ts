import assert from "node:assert/strict";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { deriveClusterCa } from "./cluster_ca.ts";
import { createHostCredentials, LOCAL_LEAF_TTL_MS, renewalDelayMs } from "./credentials.ts";
import { deriveLinkAuthKey } from "./link_proof.ts";

const enc = new TextEncoder();
const oldPsk = enc.encode("old runtime pre-shared key, 32 bytes or more");
const newPsk = enc.encode("new runtime pre-shared key, 32 bytes or more");

Deno.test("createHostCredentials: leaf under the first PSK's CA, every CA and auth key in order", async () => {
  const now = Date.UTC(2031, 5, 1);
  const creds = await createHostCredentials([newPsk, oldPsk], "host-1", { now });
  const [newCa, oldCa] = [await deriveClusterCa(newPsk), await deriveClusterCa(oldPsk)];
  assert.equal(creds.hostId, "host-1");
  assert.deepEqual(creds.caPems, [newCa.pem, oldCa.pem]);
  assert.deepEqual(creds.authKeys, [await deriveLinkAuthKey(newPsk), await deriveLinkAuthKey(oldPsk)]);
  const leaf = new x509.X509Certificate(creds.certPem);
  assert.ok(await leaf.verify({ publicKey: newCa.cert, date: new Date(now) }, crypto));
  assert.equal(await leaf.verify({ publicKey: oldCa.cert, date: new Date(now) }, crypto), false);
  assert.deepEqual(
    leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(),
    [{ type: "url", value: "spiffe://francis/host/host-1" }],
  );
  assert.equal(creds.notAfter.getTime(), now + LOCAL_LEAF_TTL_MS, "default TTL is 90 days");
  assert.equal(creds.notBefore.getTime(), now - 5 * 60_000);
  assert.match(creds.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
});

Deno.test("createHostCredentials: custom TTL and argument checks", async () => {
  const creds = await createHostCredentials([oldPsk], "h", { ttlMs: 60_000, now: 1_000_000 });
  assert.equal(creds.notAfter.getTime(), 1_060_000);
  await assert.rejects(() => createHostCredentials([], "h"), TypeError);
  await assert.rejects(() => createHostCredentials([oldPsk, new Uint8Array(8)], "h"), {
    name: "RangeError",
    message: "Cannot derive cluster CA: psk must be at least 32 bytes (got 8)",
  });
  await assert.rejects(() => createHostCredentials(["a string psk, long enough to pass"] as never, "h"), TypeError);
  await assert.rejects(() => createHostCredentials([oldPsk], "a/b"), TypeError);
  await assert.rejects(() => createHostCredentials([oldPsk], "h", { ttlMs: 400 * 86_400_000 }), RangeError);
});

Deno.test("renewalDelayMs: half of the remaining life", () => {
  const day = 86_400_000;
  assert.equal(renewalDelayMs(0, 90 * day, 0), 45 * day);
  assert.equal(renewalDelayMs(new Date(0), new Date(90 * day), new Date(80 * day)), 5 * day);
  assert.equal(renewalDelayMs(0, 100, 99), 0);
  assert.equal(renewalDelayMs(0, 100, 100), 0);
  assert.equal(renewalDelayMs(0, 100, 500), 0, "expired");
  assert.equal(renewalDelayMs(1_000, 3_000, 0), 1_000 + 1_000, "clock before notBefore: wait for it, then half");
  assert.throws(() => renewalDelayMs(10, 5, 0), RangeError);
  assert.throws(() => renewalDelayMs(0, new Date(NaN), 0), TypeError);
});
