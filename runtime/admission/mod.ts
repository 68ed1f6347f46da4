/**
 * Admission building blocks of the runtime control plane (internal; not a
 * package export): the exporter-bound host-PSK proof, the join-token (JWT)
 * verifier, and the worker's token-file reader. The runtime server and
 * `RemoteHost` wire them into the handshake of `runtime/protocol.ts`.
 *
 * PSK bootstrap, runtime side:
 * 1. at start: `key = await deriveHostPskKey(hostPsk)`;
 * 2. on `{ kind: "psk", nonce }`: `serverNonce = newNonce()`, send `{ kind: "challenge", nonce }`;
 * 3. on `{ kind: "proof", proof }`: `verifyBootstrapProof(key, tlsExporter(socket, "server"), clientNonce, serverNonce, proof)`;
 *    on `false`, reject with `UnauthorizedError("Cannot admit host: wrong host PSK")`.
 *
 * The worker sends `newNonce()` in its hello and answers the challenge with
 * `computeBootstrapProof(key, tlsExporter(socket, "client"), clientNonce, serverNonce)`.
 *
 * JWT bootstrap: `createJwtVerifier({ issuer, audience, jwksUrl | staticJwks, claimOnce })`
 * once at start, `verifier.verify(token)` per `jwt` hello; the worker gets its
 * token from `bootstrap.jwt` or `await readJwtFile(bootstrap.jwtFile)` at every bootstrap.
 *
 * @example
 * ```ts
 * import { computeBootstrapProof, deriveHostPskKey, newNonce, verifyBootstrapProof } from "./mod.ts";
 * const key = await deriveHostPskKey("worker-bootstrap-secret-123");
 * const exporter = newNonce(), clientNonce = newNonce(), serverNonce = newNonce();
 * const proof = await computeBootstrapProof(key, exporter, clientNonce, serverNonce);
 * console.log(await verifyBootstrapProof(key, exporter, clientNonce, serverNonce, proof)); // true
 * ```
 *
 * @module
 */

export {
  BOOTSTRAP_NONCE_BYTES,
  BOOTSTRAP_PROOF_BYTES,
  computeBootstrapProof,
  deriveHostPskKey,
  MIN_HOST_PSK_BYTES,
  newNonce,
  verifyBootstrapProof,
} from "./psk_proof.ts";
export {
  createJwtVerifier,
  JWT_ALGORITHMS,
  JWT_LEEWAY_SECONDS,
  JWT_MAX_JTI_LIFETIME_SECONDS,
  JWT_MAX_TOKEN_CHARS,
} from "./jwt.ts";
export type { JwtVerifier, JwtVerifierOptions, VerifiedJoinToken } from "./jwt.ts";
export { readJwtFile } from "./jwt_file.ts";
