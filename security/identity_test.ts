import assert from "node:assert/strict";
import { hostIdentity, identityFromPeerCertificate, parseIdentity, runtimeIdentity } from "./identity.ts";

Deno.test("hostIdentity / runtimeIdentity: build SPIFFE URIs that parseIdentity reads back", () => {
  const uuid = crypto.randomUUID();
  assert.equal(hostIdentity(uuid), `spiffe://francis/host/${uuid}`);
  assert.equal(runtimeIdentity("rt-1"), "spiffe://francis/runtime/rt-1");
  assert.deepEqual(parseIdentity(hostIdentity(uuid)), { kind: "host", id: uuid });
  assert.deepEqual(parseIdentity(runtimeIdentity("rt-1")), { kind: "runtime", id: "rt-1" });
});

Deno.test("hostIdentity: rejects IDs that would need escaping or do not fit a CN", () => {
  for (const bad of ["", "a/b", "a b", "a,b", "é", "x".repeat(65), "a%2F"]) {
    assert.throws(() => hostIdentity(bad), TypeError, `accepted ${JSON.stringify(bad)}`);
  }
  assert.throws(() => runtimeIdentity(1 as unknown as string), {
    name: "TypeError",
    message: "Cannot create runtime identity: runtimeId must be a string (got number)",
  });
  assert.equal(hostIdentity("x".repeat(64)).length, "spiffe://francis/host/".length + 64);
});

Deno.test("parseIdentity: only exact Francis identities", () => {
  for (
    const bad of [
      "spiffe://other/host/a",
      "spiffe://francis/actor/a",
      "spiffe://francis/host/",
      "spiffe://francis/host/a/b",
      "SPIFFE://francis/host/a",
      " spiffe://francis/host/a",
      "spiffe://francis/host/a\n",
      undefined as unknown as string,
    ]
  ) {
    assert.equal(parseIdentity(bad), undefined, `parsed ${JSON.stringify(bad)}`);
  }
});

Deno.test("identityFromPeerCertificate: picks the single Francis URI, fails closed otherwise", () => {
  const id = "spiffe://francis/host/abc";
  assert.equal(identityFromPeerCertificate({ subjectaltname: `URI:${id}` }), id);
  assert.equal(identityFromPeerCertificate({ subjectaltname: `DNS:x, URI:${id}, IP Address:127.0.0.1` }), id);
  assert.equal(identityFromPeerCertificate({ subjectaltname: `URI:${id}, URI:spiffe://other/x` }), id);
  assert.equal(identityFromPeerCertificate({}), undefined);
  assert.equal(identityFromPeerCertificate({ subjectaltname: "DNS:x" }), undefined);
  assert.equal(identityFromPeerCertificate({ subjectaltname: `URI:${id}, URI:spiffe://francis/host/evil` }), undefined);
  assert.equal(identityFromPeerCertificate({ subjectaltname: 'URI:"spiffe://francis/host/a,b"' }), undefined);
  assert.equal(identityFromPeerCertificate({ subjectaltname: "URI:spiffe://francis/host/a b" }), undefined);
  assert.equal(identityFromPeerCertificate({ subjectaltname: `DNS:${id}` }), undefined);
  assert.equal(identityFromPeerCertificate(undefined as unknown as { subjectaltname?: string }), undefined);
});
