/**
 * Admission costs: `deno bench -A runtime/admission/admission_bench.ts`.
 * JWT verification with a static JWKS (the per-hello cost on the runtime;
 * the remote JWKS adds nothing once cached), and the PSK proof.
 *
 * @module
 */

import { createJwtVerifier } from "./jwt.ts";
import { AUDIENCE, ISSUER, jwksOf, makeKey, NOW_MS, sign } from "./_jwt_fixtures.ts";
import { computeBootstrapProof, deriveHostPskKey, newNonce, verifyBootstrapProof } from "./psk_proof.ts";

const keys = {
  ES256: await makeKey("ES256", "es"),
  EdDSA: await makeKey("EdDSA", "ed"),
  RS256: await makeKey("RS256", "rs"),
};
const verifier = createJwtVerifier({
  issuer: ISSUER,
  audience: AUDIENCE,
  staticJwks: jwksOf(Object.values(keys)),
  claimOnce: () => Promise.resolve(true),
  now: () => NOW_MS,
});

for (const [alg, key] of Object.entries(keys)) {
  const token = await sign(key);
  await verifier.verify(token); // warm jose's imported-key cache
  Deno.bench(
    `verify ${alg} join token (static JWKS, jti + claimOnce)`,
    { group: "jwt", baseline: alg === "ES256" },
    async () => {
      await verifier.verify(token);
    },
  );
}

const pskKey = await deriveHostPskKey("worker-bootstrap-secret-123");
const exporter = newNonce(), clientNonce = newNonce(), serverNonce = newNonce();
const proof = await computeBootstrapProof(pskKey, exporter, clientNonce, serverNonce);
Deno.bench("verifyBootstrapProof", { group: "psk" }, async () => {
  await verifyBootstrapProof(pskKey, exporter, clientNonce, serverNonce, proof);
});
Deno.bench("deriveHostPskKey", { group: "psk" }, async () => {
  await deriveHostPskKey("worker-bootstrap-secret-123");
});
