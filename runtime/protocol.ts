/**
 * The worker ↔ runtime wire protocol (API.md §16, §18, §19): what crosses a
 * runtime connection before it becomes a multiplexed link, and the RPC bodies
 * after that.
 *
 * A connection is TLS 1.3 (`node:tls`). The runtime presents a certificate
 * naming `spiffe://francis/runtime/<runtimeId>` under the cluster CA; the
 * client presents a host certificate when it has one. Then, before any
 * request frame, the client sends one `Hello` frame (`FrameType.Hello`,
 * request ID 0) whose body is the UTF-8 JSON of a {@linkcode ClientHello}, and
 * the runtime answers with `Hello` frames carrying {@linkcode RuntimeHello}
 * messages:
 *
 * - `probe` (the `healthcheck` command): the runtime answers `{ kind: "health", … }` and closes.
 * - `psk`: the runtime answers `{ kind: "challenge", nonce }`; the client
 *   answers `{ kind: "proof", proof }` (HMAC of the host-PSK key over the TLS
 *   exporter and both nonces; the PSK never crosses); then `{ kind: "admitted", … }`.
 * - `jwt`: the token is checked (issuer, audience, signature, lifetime, single use); then `admitted`.
 * - `cert`: the TLS client certificate (a workload certificate the runtime
 *   issued earlier, still valid) is the credential; then `admitted` with the same host ID.
 * - Any failure: `{ kind: "rejected", code, message }` and the connection closes.
 *
 * **Experimental WebTransport** (`transport: "webtransport"`, `_wt_server.ts`):
 * the same messages as UTF-8 JSON in `Hello` frames whose request ID is the
 * step (1–4), on the one bidirectional stream of a session to a runtime
 * certificate the worker pinned by hash. There is no client certificate and
 * no exporter, so every kind takes four steps ({@linkcode WtClientHello} →
 * `challenge` with the runtime's certificate → {@linkcode WtProof} →
 * `admitted`/`rejected`), and the proofs are bound to the pinned hash and
 * both nonces (`admission/_wt_binding.ts`).
 *
 * After `admitted`, the connection is a `MuxLink`: the client sends RPC
 * requests whose bodies are `jsonCodec` encodings of {@linkcode RpcRequest};
 * answers are `jsonCodec` encodings of the result (errors travel as wire errors).
 * The runtime sends the worker requests of the same shape too: `ping` (a
 * liveness probe of WebTransport sessions; any answer will do) and
 * {@linkcode RUNTIME_STOPPING} (the replica is shutting down: the worker
 * answers at once, sends no new request on this session and connects to
 * another replica, while its requests already sent are still answered).
 *
 * @module
 */

/** The protocol version; a mismatch is `ProtocolVersionError`. */
export const RUNTIME_PROTOCOL_VERSION = 1;

/** The method of the runtime's "I am shutting down, move elsewhere" request to a worker. */
export const RUNTIME_STOPPING = "stopping";

/** WebTransport admission hellos carry certificates and tokens (≤ 16 KiB): bounded well above that, far below a frame. */
export const WT_ADMISSION_LIMITS = Object.freeze({ maxHelloBytes: 65_536, maxBufferBytes: 131_072 });

/** First message from a client. */
export type ClientHello =
  | { v: number; kind: "probe" }
  | { v: number; kind: "psk"; nonce: string; publicKey: string; clientOnly: boolean }
  | { v: number; kind: "jwt"; token: string; publicKey: string; clientOnly: boolean }
  | { v: number; kind: "cert"; clientOnly: boolean };

/** Messages from the runtime during the handshake. */
export type RuntimeHello =
  | { kind: "health"; ok: boolean; ready: boolean; runtimeId: string }
  | { kind: "challenge"; nonce: string }
  | { kind: "admitted"; session: SessionGrant }
  | { kind: "rejected"; code: string; message: string };

/** First message over WebTransport (step 1). No secret crosses before the worker checked the runtime. */
export interface WtClientHello {
  v: number;
  kind: "psk" | "jwt" | "cert";
  /** base64, 32 bytes. */
  nonce: string;
  /** base64 SPKI of the worker's Ed25519 key (`psk`, `jwt`). */
  publicKey?: string;
  /** The worker's workload certificate, PEM (`cert`). */
  certificate?: string;
  clientOnly: boolean;
}

/** The runtime's challenge over WebTransport (step 2). */
export interface WtChallenge {
  kind: "challenge";
  /** base64, 32 bytes. */
  nonce: string;
  /** The runtime's WebTransport certificate (PEM): its SHA-256 must be one the worker pinned. */
  certificate: string;
}

/** The worker's answer over WebTransport (step 3). */
export interface WtProof {
  kind: "proof";
  /** base64 Ed25519 signature over the transcript. */
  signature: string;
  /** base64 host-PSK proof (`psk`). */
  proof?: string;
  /** The join token (`jwt`). */
  token?: string;
}

/** Second message of the PSK exchange, from the client. */
export interface PskProof {
  kind: "proof";
  /** base64 HMAC-SHA256 (see `pskProofTranscript`). */
  proof: string;
}

/** What an admitted client receives. */
export interface SessionGrant {
  /** The host ID this client has from now on (the identity of its certificate). */
  hostId: string;
  runtimeId: string;
  /** Workload certificate (PEM) for the client's public key; absent for `cert` admissions (keep the current one). */
  certPem?: string;
  /** Every cluster CA (PEM), in PSK order: trust anchors for the runtime and for peer links. */
  caPems: string[];
  /** base64 link-proof keys for worker ↔ worker links, in PSK order (derived from the runtime PSKs). */
  linkKeys: string[];
  /** Settings the worker's alarm and health loops use (the runtime's configuration). */
  settings: {
    healthCheckDeadlineMs: number;
    alarmsPollIntervalMs: number;
    alarmsLeaseDurationMs: number;
    alarmsFetchAheadMs: number;
    alarmsFetchBatchSize: number;
    workloadCertTtlMs: number;
    maxHosts: number;
    /**
     * An alarm or job run longer than this counts as a failed attempt and its `ctx.signal` aborts with
     * `DeadlineExceededError` (API.md §9.4). Absent from runtimes that predate it: the worker uses 60 s.
     */
    alarmExecutionTimeoutMs?: number;
  };
}

/** One RPC from an admitted client: an `ActorProvider` method or a runtime operation. */
export interface RpcRequest {
  /** `ActorProvider` method name, or `"renewCertificate"`. */
  m: string;
  /** Positional arguments, as the provider method takes them. */
  a: unknown[];
}
