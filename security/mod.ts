/**
 * Cluster security, internal barrel (not a public export yet): the
 * PSK-derived cluster CA, leaf certificates, identities, the exporter-bound
 * link proof and host link credentials (API.md §18). `deriveClusterCaPem` will
 * be exported from `./runtime`.
 *
 * @example
 * ```ts
 * import { createHostCredentials, deriveClusterCaPem } from "./mod.ts";
 * const psk = new TextEncoder().encode("an example runtime PSK, 32 bytes or more");
 * const creds = await createHostCredentials([psk], "h1");
 * console.log(creds.caPems[0] === await deriveClusterCaPem(psk)); // true
 * ```
 *
 * @module
 */

export { deriveClusterCa, deriveClusterCaPem, MIN_RUNTIME_PSK_BYTES } from "./cluster_ca.ts";
export { createHostCredentials, LOCAL_LEAF_TTL_MS, renewalDelayMs } from "./credentials.ts";
export { hostIdentity, identityFromPeerCertificate, parseIdentity, runtimeIdentity } from "./identity.ts";
export { certifyPublicKey, issueLeafCertificate, LEAF_BACKDATE_MS, MAX_LEAF_TTL_MS } from "./leaf.ts";
export {
  computeLinkProof,
  deriveLinkAuthKey,
  EXPORTER_LABEL,
  LINK_PROOF_BYTES,
  tlsExporter,
  verifyLinkProof,
} from "./link_proof.ts";

export type { ClusterCa } from "./cluster_ca.ts";
export type { HostCredentials, HostCredentialsOptions } from "./credentials.ts";
export type { IdentityKind, ParsedIdentity } from "./identity.ts";
export type { IssuedLeaf, IssueLeafOptions } from "./leaf.ts";
export type { ExporterSocket, LinkIdentities, LinkRole } from "./link_proof.ts";
