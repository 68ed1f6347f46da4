import assert from "node:assert/strict";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { deriveClusterCa, deriveClusterCaPem } from "./cluster_ca.ts";

const GOLDEN_PSK = "francis golden test pre-shared key, do not change";
/** The CA of GOLDEN_PSK. If this changes, every deployed cluster's trust anchor changes (C-98): never update casually. */
const GOLDEN_PEM = `-----BEGIN CERTIFICATE-----
MIIBLjCB4aADAgECAhBI5Yje90rpJW01pPumpTHRMAUGAytlcDAVMRMwEQYDVQQD
EwpGcmFuY2lzIENBMCAXDTIwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAV
MRMwEQYDVQQDEwpGcmFuY2lzIENBMCowBQYDK2VwAyEAyo6UYYDt1ad6+nbdsdtI
OU2uZYFhLnXMsm2incT/jUijRTBDMBIGA1UdEwEB/wQIMAYBAf8CAQAwDgYDVR0P
AQH/BAQDAgEGMB0GA1UdDgQWBBQU5BqIc+vXpGf+MUu61490NMkAkTAFBgMrZXAD
QQDwcAoN6yUEG4f7t5PIDlCxrJAJlR5ftiD9rB2iI5xvpb+yInVYGosZL0HLoMon
gOwibbocguQXXDViRRSil24F
-----END CERTIFICATE-----
`;
const enc = new TextEncoder();

Deno.test("deriveClusterCaPem: matches the committed golden PEM", async () => {
  assert.equal(await deriveClusterCaPem(GOLDEN_PSK), GOLDEN_PEM);
});

Deno.test("deriveClusterCaPem: a string PSK is its UTF-8 bytes, never base64-decoded", async () => {
  assert.equal(await deriveClusterCaPem(enc.encode(GOLDEN_PSK)), GOLDEN_PEM);
  const b64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlq"; // 48 chars; decodes to 36 bytes
  const asText = await deriveClusterCaPem(b64);
  assert.equal(asText, await deriveClusterCaPem(enc.encode(b64)));
  const decoded = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  assert.notEqual(asText, await deriveClusterCaPem(decoded));
});

Deno.test("deriveClusterCaPem: byte-identical in a separate Deno process", async () => {
  const module = new URL("./cluster_ca.ts", import.meta.url).href;
  const config = new URL("../deno.json", import.meta.url).pathname;
  const code = `import { deriveClusterCaPem } from ${JSON.stringify(module)};
await Deno.stdout.write(new TextEncoder().encode(await deriveClusterCaPem(Deno.args[0])));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", config, code, GOLDEN_PSK],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.equal(new TextDecoder().decode(out.stdout), GOLDEN_PEM);
});

Deno.test("deriveClusterCaPem: different PSKs give different CAs with different keys", async () => {
  const a = await deriveClusterCa(enc.encode("cluster A pre-shared key, long enough"));
  const b = await deriveClusterCa(enc.encode("cluster B pre-shared key, long enough"));
  assert.notEqual(a.pem, b.pem);
  assert.notEqual(a.cert.serialNumber, b.cert.serialNumber);
  assert.notDeepEqual(new Uint8Array(a.cert.publicKey.rawData), new Uint8Array(b.cert.publicKey.rawData));
});

Deno.test("deriveClusterCa: fixed subject, validity, self-signature and extensions", async () => {
  const ca = await deriveClusterCa(enc.encode(GOLDEN_PSK));
  assert.equal(ca.cert.subject, "CN=Francis CA");
  assert.equal(ca.cert.issuer, "CN=Francis CA");
  assert.equal(ca.cert.notBefore.toISOString(), "2020-01-01T00:00:00.000Z");
  assert.equal(ca.cert.notAfter.toISOString(), "2100-01-01T00:00:00.000Z");
  assert.ok(await ca.cert.verify({ signatureOnly: true }, crypto));
  assert.ok(
    /^[1-7][0-9a-f]{31}$/.test(ca.cert.serialNumber),
    `serial ${ca.cert.serialNumber} is not 16 positive bytes`,
  );
  const bc = ca.cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(bc?.ca && bc.critical);
  const ku = ca.cert.getExtension(x509.KeyUsagesExtension);
  assert.equal(ku?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.ok(ku?.critical);
  assert.ok(ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
  assert.equal(ca.keys.privateKey.extractable, false);
});

Deno.test("deriveClusterCa: memoised per PSK bytes, also under concurrency", async () => {
  const psk = enc.encode("memo test pre-shared key, 32 bytes or more");
  const [a, b] = await Promise.all([deriveClusterCa(psk), deriveClusterCa(psk.slice())]);
  assert.equal(a, b);
  assert.equal(await deriveClusterCa(enc.encode("memo test pre-shared key, 32 bytes or more")), a);
});

Deno.test("deriveClusterCaPem: rejects short PSKs and wrong types", async () => {
  await assert.rejects(() => deriveClusterCaPem("too short"), {
    name: "RangeError",
    message: "Cannot derive cluster CA: psk must be at least 32 bytes (got 9)",
  });
  await assert.rejects(() => deriveClusterCaPem(new Uint8Array(31)), {
    name: "RangeError",
    message: "Cannot derive cluster CA: psk must be at least 32 bytes (got 31)",
  });
  // 11 characters of 3 bytes each: counted in bytes, not characters.
  assert.match(await deriveClusterCaPem("€€€€€€€€€€€"), /^-----BEGIN CERTIFICATE-----\n/);
  await assert.rejects(() => deriveClusterCaPem(42 as unknown as string), {
    name: "TypeError",
    message: "Cannot derive cluster CA: psk must be a string or Uint8Array (got number)",
  });
  await assert.rejects(() => deriveClusterCa("x".repeat(40) as unknown as Uint8Array), TypeError);
});
