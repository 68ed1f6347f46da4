import assert from "node:assert/strict";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { deriveClusterCa } from "./cluster_ca.ts";
import { issueLeafCertificate, LEAF_BACKDATE_MS, MAX_LEAF_TTL_MS } from "./leaf.ts";

const ca = await deriveClusterCa(new TextEncoder().encode("leaf test pre-shared key, 32 bytes or more"));
const identity = "spiffe://francis/host/0b7f1a52-9d8e-4c7b-a1f0-3e2d5c6b7a89";

async function openssl(args: string[]): Promise<{ code: number; out: string }> {
  const result = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: result.code, out: dec.decode(result.stdout) + dec.decode(result.stderr) };
}

async function withFiles<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "francis-leaf-" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("issueLeafCertificate: openssl verifies the leaf against the CA and sees the SAN URI", async () => {
  const leaf = await issueLeafCertificate(ca, { identity, ttlMs: 3_600_000 });
  const other = await deriveClusterCa(new TextEncoder().encode("some other cluster's pre-shared key, 32+"));
  await withFiles({ "ca.pem": ca.pem, "other.pem": other.pem, "leaf.pem": leaf.certPem }, async (dir) => {
    const ok = await openssl(["verify", "-CAfile", `${dir}/ca.pem`, `${dir}/leaf.pem`]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /leaf\.pem: OK/);
    const purpose = await openssl(["verify", "-purpose", "sslclient", "-CAfile", `${dir}/ca.pem`, `${dir}/leaf.pem`]);
    assert.equal(purpose.code, 0, purpose.out);
    const foreign = await openssl(["verify", "-CAfile", `${dir}/other.pem`, `${dir}/leaf.pem`]);
    assert.notEqual(foreign.code, 0, "a leaf verified against another cluster's CA");
    const text = await openssl(["x509", "-in", `${dir}/leaf.pem`, "-noout", "-text"]);
    assert.match(text.out, new RegExp(`URI:${identity.replaceAll(".", "\\.")}`));
    assert.match(text.out, /Subject: CN ?= ?0b7f1a52-9d8e-4c7b-a1f0-3e2d5c6b7a89/);
    assert.match(text.out, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text.out, /Key Usage: critical\s+Digital Signature/);
    assert.match(text.out, /CA:FALSE/);
    assert.match(text.out, /Signature Algorithm: ED25519/);
  });
});

Deno.test("issueLeafCertificate: backdated 5 minutes, TTL from now, AKI = CA SKI, positive random serial", async () => {
  const now = Date.UTC(2030, 0, 1, 12, 0, 0);
  const a = await issueLeafCertificate(ca, { identity, ttlMs: 86_400_000, now });
  const b = await issueLeafCertificate(ca, { identity, ttlMs: 86_400_000, now: new Date(now) });
  assert.equal(a.notBefore.getTime(), now - LEAF_BACKDATE_MS);
  assert.equal(a.notAfter.getTime(), now + 86_400_000);
  const cert = new x509.X509Certificate(a.certPem);
  assert.equal(cert.issuer, "CN=Francis CA");
  assert.ok(await cert.verify({ publicKey: ca.cert, date: new Date(now) }, crypto));
  assert.equal(
    cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
    ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
  );
  assert.match(cert.serialNumber, /^[4-7][0-9a-f]{31}$/);
  const other = new x509.X509Certificate(b.certPem);
  assert.notEqual(cert.serialNumber, other.serialNumber);
  assert.notDeepEqual(new Uint8Array(cert.publicKey.rawData), new Uint8Array(other.publicKey.rawData), "key reused");
  assert.notEqual(a.keyPem, b.keyPem);
  const key = await crypto.subtle.importKey(
    "pkcs8",
    Uint8Array.from(atob(a.keyPem.replace(/-----[^-]+-----|\s/g, "")), (c) => c.charCodeAt(0)),
    "Ed25519",
    false,
    ["sign"],
  );
  assert.equal(key.type, "private");
});

Deno.test("issueLeafCertificate: TTL range and argument checks", async () => {
  const max = await issueLeafCertificate(ca, { identity, ttlMs: MAX_LEAF_TTL_MS, now: 0 });
  assert.equal(max.notAfter.getTime(), MAX_LEAF_TTL_MS);
  await assert.rejects(() => issueLeafCertificate(ca, { identity, ttlMs: MAX_LEAF_TTL_MS + 1 }), {
    name: "RangeError",
    message: `Cannot issue leaf certificate: ttlMs must be between 1 and ${MAX_LEAF_TTL_MS} (got ${
      MAX_LEAF_TTL_MS + 1
    })`,
  });
  await assert.rejects(() => issueLeafCertificate(ca, { identity, ttlMs: 0 }), RangeError);
  await assert.rejects(() => issueLeafCertificate(ca, { identity, ttlMs: 1.5 }), TypeError);
  await assert.rejects(() => issueLeafCertificate(ca, { identity: "spiffe://francis/host/a,b", ttlMs: 1_000 }), {
    name: "TypeError",
    message: 'Cannot issue leaf certificate: identity must be a Francis identity URI (got "spiffe://francis/host/a,b")',
  });
  await assert.rejects(() => issueLeafCertificate(ca, { identity, ttlMs: 1_000, now: new Date(NaN) }), TypeError);
  await assert.rejects(() => issueLeafCertificate({} as typeof ca, { identity, ttlMs: 1_000 }), TypeError);
});

Deno.test("issueLeafCertificate: a runtime identity gets its own CN and SAN", async () => {
  const leaf = await issueLeafCertificate(ca, { identity: "spiffe://francis/runtime/rt-1", ttlMs: 60_000 });
  const cert = new x509.X509Certificate(leaf.certPem);
  assert.equal(cert.subject, "CN=rt-1");
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  assert.deepEqual(san?.names.toJSON(), [{ type: "url", value: "spiffe://francis/runtime/rt-1" }]);
});

Deno.test("issueLeafCertificate: a leaf issued in the past is expired for openssl", async () => {
  const leaf = await issueLeafCertificate(ca, { identity, ttlMs: 60_000, now: Date.now() - 86_400_000 });
  await withFiles({ "ca.pem": ca.pem, "leaf.pem": leaf.certPem }, async (dir) => {
    const result = await openssl(["verify", "-CAfile", `${dir}/ca.pem`, `${dir}/leaf.pem`]);
    assert.notEqual(result.code, 0);
    assert.match(result.out, /certificate has expired/);
  });
});
