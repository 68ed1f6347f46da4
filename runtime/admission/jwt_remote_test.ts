import assert from "node:assert/strict";
import { RuntimeUnavailableError, UnauthorizedError } from "../../errors.ts";
import { createJwtVerifier } from "./jwt.ts";
import type { JwtVerifier } from "./jwt.ts";
import { AUDIENCE, ISSUER, jwksOf, makeKey, memoryClaims, NOW_MS, sign } from "./_jwt_fixtures.ts";

const es = await makeKey("ES256", "es");
const ed = await makeKey("EdDSA", "ed");
const rogue = await makeKey("ES256", "rogue");

/** A JWKS endpoint on 127.0.0.1 whose body and status the test controls. */
function jwksServer(initial: string): {
  url: string;
  fetches: () => number;
  set: (body: string, status?: number) => void;
  close: () => Promise<void>;
} {
  let body = initial, status = 200, count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    count++;
    return new Response(body, { status, headers: { "content-type": "application/jwk-set+json" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    fetches: () => count,
    set: (b, s = 200) => {
      body = b;
      status = s;
    },
    close: () => server.shutdown(),
  };
}

function remoteVerifier(url: string): JwtVerifier {
  const store = memoryClaims();
  return createJwtVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUrl: url,
    claimOnce: store.claimOnce,
    now: () => NOW_MS,
  });
}

/** Runs `fn` with `Date.now` moved forward (jose's cache clock). */
async function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const realNow = Date.now;
  Date.now = () => realNow() + ms;
  try {
    return await fn();
  } finally {
    Date.now = realNow;
  }
}

Deno.test("remote JWKS: fetched once on first use, then cached", async () => {
  const server = jwksServer(jwksOf([es, ed]));
  try {
    const verifier = remoteVerifier(server.url);
    assert.equal(server.fetches(), 0, "nothing is fetched at creation");
    const [a, b] = await Promise.all([verifier.verify(await sign(es)), verifier.verify(await sign(ed))]);
    assert.equal(a.subject, "worker-1");
    assert.equal(b.subject, "worker-1");
    assert.ok(await verifier.verify(await sign(es)));
    assert.equal(server.fetches(), 1, "concurrent verifies share one fetch");
    await assert.rejects(async () => verifier.verify(await sign(rogue, { kid: "es" })), UnauthorizedError);
    verifier.close();
  } finally {
    await server.close();
  }
});

Deno.test("remote JWKS: a rotated-in key is picked up after the 30 s cooldown; stale sets are refetched", async () => {
  const server = jwksServer(jwksOf([es]));
  try {
    const verifier = remoteVerifier(server.url);
    assert.ok(await verifier.verify(await sign(es)));
    server.set(jwksOf([es, ed]));
    await assert.rejects(async () => verifier.verify(await sign(ed)), UnauthorizedError);
    assert.equal(server.fetches(), 1, "unknown kid within the cooldown: no refetch");
    await assert.rejects(async () => verifier.verify(await sign(ed)), {
      message: "Cannot admit host: bad signature (no matching key in the JWKS)",
    });
    assert.ok(await later(31_000, async () => verifier.verify(await sign(ed))), "unknown kid after cooldown: refetch");
    assert.equal(server.fetches(), 2);
    server.set(jwksOf([ed]));
    await later(11 * 60_000, async () => {
      await assert.rejects(async () => verifier.verify(await sign(es)), UnauthorizedError, "removed key");
    });
    assert.equal(server.fetches(), 3, "older than cacheMaxAge (10 min): refetched before use");
  } finally {
    await server.close();
  }
});

Deno.test("remote JWKS: an unreachable or failing endpoint is RuntimeUnavailableError, not UnauthorizedError", async () => {
  const server = jwksServer("oops");
  try {
    server.set(jwksOf([es]), 500);
    const failing = remoteVerifier(server.url);
    const check = (err: unknown) => {
      assert.ok(err instanceof RuntimeUnavailableError, `got ${String(err)}`);
      assert.equal(err.retryable, true);
      assert.equal(err.message, "Cannot admit host: the JWKS endpoint is unavailable");
      return true;
    };
    await assert.rejects(async () => failing.verify(await sign(es)), check, "HTTP 500");
    server.set("not json");
    await assert.rejects(async () => remoteVerifier(server.url).verify(await sign(es)), check, "not JSON");
    server.set('{"keys":"nope"}');
    await assert.rejects(async () => remoteVerifier(server.url).verify(await sign(es)), check, "not a JWKS");
    server.set(jwksOf([es]));
    assert.ok(await failing.verify(await sign(es)), "recovers once the endpoint does");
    // Garbage never reaches the endpoint.
    const before = server.fetches();
    await assert.rejects(() => remoteVerifier(server.url).verify("garbage"), UnauthorizedError);
    assert.equal(server.fetches(), before);
  } finally {
    await server.close();
  }
  const closed = jwksServer("{}");
  const url = closed.url;
  await closed.close();
  await assert.rejects(async () => remoteVerifier(url).verify(await sign(es)), RuntimeUnavailableError, "refused");
});
