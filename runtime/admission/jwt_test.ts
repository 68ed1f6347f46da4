import assert from "node:assert/strict";
import { CompactSign, generateSecret, SignJWT, UnsecuredJWT } from "jose";
import { UnauthorizedError } from "../../errors.ts";
import { createJwtVerifier } from "./jwt.ts";
import type { JwtVerifier } from "./jwt.ts";
import { AUDIENCE, ISSUER, jwksOf, makeKey, memoryClaims, NOW_MS, NOW_S, sign } from "./_jwt_fixtures.ts";
import type { MemoryClaims } from "./_jwt_fixtures.ts";

const es = await makeKey("ES256", "es");
const ed = await makeKey("EdDSA", "ed");
const rs = await makeKey("RS256", "rs");
const rogue = await makeKey("ES256", "rogue");
const staticJwks = jwksOf([es, ed, rs]);

function setup(): { verifier: JwtVerifier; store: MemoryClaims } {
  const store = memoryClaims();
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    staticJwks,
    claimOnce: store.claimOnce,
    now: () => NOW_MS,
  });
  return { verifier, store };
}

async function rejects(verifier: JwtVerifier, token: unknown, reason: string): Promise<void> {
  await assert.rejects(() => verifier.verify(token as string), (err: unknown) => {
    assert.ok(err instanceof UnauthorizedError, `expected UnauthorizedError, got ${String(err)}`);
    assert.equal(err.code, "unauthorized");
    assert.equal(err.message, `Cannot admit host: ${reason}`);
    return true;
  });
}

Deno.test("verify: accepts ES256, EdDSA and RS256 tokens from a static JWKS", async () => {
  const { verifier, store } = setup();
  for (const key of [es, ed, rs]) {
    const jti = crypto.randomUUID();
    const result = await verifier.verify(await sign(key, { jti }));
    assert.deepEqual(result, { subject: "worker-1", jti, expiresAt: (NOW_S + 600) * 1000 });
  }
  assert.equal(store.calls.length, 3);
  assert.equal(store.calls[0].expiresAtMs, (NOW_S + 600 + 60) * 1000, "claim kept until exp + leeway");
});

Deno.test("verify: a token without jti is not single-use and skips claimOnce", async () => {
  const { verifier, store } = setup();
  const token = await sign(es, { jti: null, sub: null, expIn: 7200 });
  assert.deepEqual(await verifier.verify(token), { subject: undefined, expiresAt: (NOW_S + 7200) * 1000 });
  assert.deepEqual(await verifier.verify(token), { subject: undefined, expiresAt: (NOW_S + 7200) * 1000 });
  assert.equal(store.calls.length, 0);
});

Deno.test("verify (C-95): wrong aud, wrong iss; aud arrays are matched by membership", async () => {
  const { verifier } = setup();
  await rejects(verifier, await sign(es, { aud: "someone-else" }), "wrong audience");
  await rejects(verifier, await sign(es, { aud: null }), 'token has no "aud" claim');
  await rejects(verifier, await sign(es, { iss: "https://evil.example" }), "wrong issuer");
  await rejects(verifier, await sign(es, { iss: null }), 'token has no "iss" claim');
  assert.ok(await verifier.verify(await sign(es, { aud: ["other", AUDIENCE] })));
});

Deno.test("verify (C-95): expired, with 60 s of leeway; not yet valid", async () => {
  const { verifier } = setup();
  await rejects(verifier, await sign(es, { expIn: -61 }), "token expired");
  assert.ok(await verifier.verify(await sign(es, { expIn: -59 })), "within leeway");
  await rejects(verifier, await sign(es, { nbfIn: 120 }), "token is not yet valid");
  assert.ok(await verifier.verify(await sign(es, { nbfIn: 30 })), "nbf within leeway");
  await rejects(verifier, await sign(es, { expIn: null, jti: null }), 'token has no "exp" claim');
  await rejects(verifier, await sign(es, { expIn: null }), 'token has no "exp" claim');
});

Deno.test("verify (C-95): wrong key, whether its kid is unknown, reused or absent", async () => {
  const { verifier } = setup();
  await rejects(verifier, await sign(rogue), "bad signature (no matching key in the JWKS)");
  await rejects(verifier, await sign(rogue, { kid: "es" }), "bad signature");
  await rejects(verifier, await sign(rogue, { kid: null }), "bad signature");
  const good = await sign(es);
  const [h, p] = good.split(".");
  const forged = await sign(rogue, { kid: "es" });
  await rejects(verifier, `${h}.${p}.${forged.split(".")[2]}`, "bad signature");
  const other = await sign(es, { sub: "admin" });
  await rejects(verifier, `${h}.${other.split(".")[1]}.${good.split(".")[2]}`, "bad signature");
});

Deno.test("verify (C-95): a jti token must expire within 1 h (+ leeway)", async () => {
  const { verifier, store } = setup();
  await rejects(verifier, await sign(es, { expIn: 7200 }), "token lifetime exceeds 1 h");
  await rejects(verifier, await sign(es, { expIn: 3600 + 120 }), "token lifetime exceeds 1 h");
  assert.equal(store.calls.length, 0, "a rejected token never burns its jti");
  assert.ok(await verifier.verify(await sign(es, { expIn: 3600 })));
  assert.ok(await verifier.verify(await sign(es, { expIn: 3600 + 60 })));
  await rejects(verifier, await sign(es, { jti: "" }), 'invalid "jti" claim');
});

Deno.test("verify (C-95): a jti joins once; replicas share claimOnce", async () => {
  const { verifier, store } = setup();
  const token = await sign(ed, { jti: "join-1" });
  assert.equal((await verifier.verify(token)).jti, "join-1");
  await rejects(verifier, token, "join token has already been used");
  const replica = createJwtVerifier({ issuer: ISSUER, audience: AUDIENCE, staticJwks, claimOnce: store.claimOnce });
  // The replica uses the real clock, under which the fixture token is long expired: re-sign for it.
  const now = Math.floor(Date.now() / 1000);
  const fresh = await new SignJWT({ jti: "join-2" }).setProtectedHeader({ alg: "EdDSA", kid: "ed" })
    .setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime(now + 600).sign(ed.privateKey);
  assert.ok(await verifier.verify(await sign(ed, { jti: "join-2" })));
  await rejects(replica, fresh, "join token has already been used");
});

Deno.test("verify: alg none and HS256 are refused, even with a symmetric key in the JWKS", async () => {
  const { verifier } = setup();
  const unsecured = new UnsecuredJWT({ jti: "x" }).setIssuer(ISSUER).setAudience(AUDIENCE)
    .setExpirationTime(NOW_S + 600).encode();
  await rejects(verifier, unsecured, "algorithm not allowed");
  const secret = await generateSecret("HS256", { extractable: true });
  const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256", kid: "es" }).setIssuer(ISSUER)
    .setAudience(AUDIENCE).setExpirationTime(NOW_S + 600).sign(secret);
  await rejects(verifier, hs, "algorithm not allowed");
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", secret as CryptoKey));
  const k = btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const confused = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    staticJwks: JSON.stringify({ keys: [{ kty: "oct", k, kid: "es" }] }),
    claimOnce: () => Promise.resolve(true),
    now: () => NOW_MS,
  });
  await rejects(confused, hs, "algorithm not allowed");
  // A JWS alg outside the list but supported by jose (ES256K is not; Ed25519 is the RFC 9864 name).
  await rejects(verifier, await sign(ed, { alg: "Ed25519" }), "algorithm not allowed");
});

Deno.test("verify: several kid-less keys in the JWKS: each is tried", async () => {
  const a = await makeKey("ES256", "a", { bareJwk: true });
  const b = await makeKey("ES256", "b", { bareJwk: true });
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    staticJwks: jwksOf([a, b]),
    claimOnce: () => Promise.resolve(true),
    now: () => NOW_MS,
  });
  assert.ok(await verifier.verify(await sign(b, { kid: null })));
  assert.ok(await verifier.verify(await sign(a, { kid: null })));
  await rejects(verifier, await sign(rogue, { kid: null }), "bad signature");
});

Deno.test("verify: garbage is UnauthorizedError, never anything else", async () => {
  const { verifier } = setup();
  const b64 = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, "");
  const cases: Array<[unknown, string]> = [
    ["", "no token"],
    [undefined, "no token"],
    [42, "no token"],
    ["not a token", "malformed token"],
    ["a.b.c", "malformed token"],
    ["....", "malformed token"],
    ["x".repeat(20_000), "token is too large"],
    [`${b64({ alg: 1 })}.${b64({})}.sig`, "algorithm not allowed"],
    [`${b64({ typ: "JWT" })}.${b64({})}.sig`, "algorithm not allowed"],
    [`${b64({ alg: "ES256", kid: "es" })}.not-json.sig`, "bad signature"],
    [`${b64({ alg: "ES256", kid: "es" })}.${b64({})}.***`, "malformed token"],
    [`${b64({ alg: "ES256", kid: "es", crit: ["x"], x: 1 })}.${b64({})}.sig`, "unsupported token header"],
    [`${b64([1])}.${b64({})}.sig`, "malformed token"],
  ];
  for (const [token, reason] of cases) await rejects(verifier, token, reason);
  // A valid signature over a payload that is not a JSON object.
  const notJson = await new CompactSign(new TextEncoder().encode("[1,2]"))
    .setProtectedHeader({ alg: "ES256", kid: "es" }).sign(es.privateKey);
  await rejects(verifier, notJson, "malformed token");
});

Deno.test("verify: claimOnce failures propagate; close() refuses further use", async () => {
  const storeDown = new Error("store down");
  const verifier = createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    staticJwks,
    claimOnce: () => Promise.reject(storeDown),
    now: () => NOW_MS,
  });
  const pending = sign(es);
  await assert.rejects(() => verifier.verify(pending as never), UnauthorizedError, "a promise is not a token");
  await pending;
  await assert.rejects(async () => verifier.verify(await sign(es)), (err) => err === storeDown);
  verifier.close();
  verifier.close();
  await assert.rejects(() => verifier.verify("x"), {
    name: "TypeError",
    message: "Cannot verify join token: the verifier is closed",
  });
});

Deno.test("createJwtVerifier: options are validated", () => {
  const claimOnce = () => Promise.resolve(true);
  const base = { issuer: ISSUER, audience: AUDIENCE, claimOnce };
  const bad: Array<[unknown, RegExp]> = [
    [{ ...base }, /exactly one of jwksUrl and staticJwks/],
    [{ ...base, staticJwks, jwksUrl: "https://x.example/jwks" }, /exactly one of jwksUrl and staticJwks/],
    [{ ...base, staticJwks: "{" }, /staticJwks must be a JSON Web Key Set/],
    [{ ...base, staticJwks: '{"keys":"no"}' }, /staticJwks must be a JSON Web Key Set/],
    [{ ...base, staticJwks: { keys: [] } }, /staticJwks must be a JSON string \(got object\)/],
    [{ ...base, jwksUrl: "ftp://x.example/jwks" }, /jwksUrl must be an http: or https: URL \(got "ftp:/],
    [{ ...base, jwksUrl: "not a url" }, /jwksUrl must be an http: or https: URL/],
    [{ ...base, staticJwks, issuer: "" }, /issuer must be a non-empty string \(got ""\)/],
    [{ ...base, staticJwks, audience: 1 }, /audience must be a non-empty string \(got 1\)/],
    [{ ...base, staticJwks, claimOnce: undefined }, /claimOnce must be a function/],
    [{ ...base, staticJwks, now: 5 }, /now must be a function/],
    [null, /options must be an object/],
  ];
  for (const [options, message] of bad) {
    assert.throws(() => createJwtVerifier(options as never), (err: unknown) => {
      assert.ok(err instanceof TypeError);
      assert.match(err.message, /^Cannot create JWT verifier: /);
      assert.match(err.message, message);
      return true;
    });
  }
});
