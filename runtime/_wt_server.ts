/**
 * The runtime's **experimental** WebTransport worker endpoint (Deno with
 * `--unstable-net` only; loaded by `core.ts` with a dynamic `import()` when
 * `transport` is `"webtransport"`). It listens on UDP at the same host and
 * port number as the TLS listener, serves the deterministic runtime
 * WebTransport certificate (`_wt_certificate.ts`), and runs the four-step
 * admission of `protocol.ts` on each session's one stream, bound to that
 * certificate's hash and both nonces (`admission/_wt_binding.ts`).
 *
 * @module
 */

import { isFrancisError, UnauthorizedError } from "../errors.ts";
import { errorMessage } from "../_internal/logger.ts";
import { fromBase64, toBase64 } from "../_internal/base64.ts";
import { encodeFrame, FrameType } from "../transport/frames.ts";
import type { MuxLink } from "../transport/mux.ts";
import { encodeRpc } from "../_internal/rpc_codec.ts";
import { HelloReader } from "../transport/_wt_hello.ts";
import { pemToDer, verifyPeerCertificate } from "../transport/_wt_certificate.ts";
import { WtListener } from "../transport/_wt_listener.ts";
import type { WebTransportChannel } from "../transport/_wt_channel.ts";
import { newNonce, verifyBootstrapProof } from "./admission/psk_proof.ts";
import { verifyWtAdmission, wtAdmissionTranscript } from "./admission/_wt_binding.ts";
import {
  type AdmittedWorker,
  certifyNewHost,
  checkAccepting,
  checkJwt,
  type RuntimeServerOptions,
  sessionGrant,
  startSession,
} from "./_admit.ts";
import {
  RUNTIME_PROTOCOL_VERSION,
  type RuntimeHello,
  WT_ADMISSION_LIMITS,
  type WtChallenge,
  type WtClientHello,
  type WtProof,
} from "./protocol.ts";
import type { RuntimeWtCertificate } from "./_wt_certificate.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../transport/frames.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Starts the WebTransport worker endpoint on UDP `o.host:o.port`.
 *
 * @param o The listener options shared with the TLS endpoint (`o.port` is the bound TCP port).
 * @param cert The runtime WebTransport certificate.
 * @returns The bound UDP port and a close function.
 *
 * @example
 * ```ts ignore
 * const wt = await listenRuntimeWebTransport(options, await deriveRuntimeWtCertificate(psks[0]));
 * await wt.close();
 * ```
 */
export function listenRuntimeWebTransport(
  o: RuntimeServerOptions,
  cert: RuntimeWtCertificate,
): Promise<{ port: number; close(): Promise<void> }> {
  const probeMs = Math.max(1_000, Math.floor(o.keepaliveMs / 5));
  const listener = new WtListener<AdmittedWorker>(new Deno.QuicEndpoint({ hostname: o.host, port: o.port }), {
    credentials: () => cert,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    logger: o.logger,
    handshake: (channel) => admitWt(o, cert, channel),
    adopt: (channel, worker, links) => {
      const link = startSession(o, channel, worker, (l) => probe(l, channel, probeMs));
      links.add(link);
      link.closed.then(() => links.delete(link));
      return link;
    },
    onClose: () => {},
  });
  return Promise.resolve({ port: listener.port, close: () => listener.close() });
}

const PROBE = new Uint8Array(encodeRpc({ m: "ping", a: [] }));

/**
 * Whether the worker still answers: any answer counts (a worker rejects every
 * request from the runtime). No answer within `timeoutMs` (a killed worker:
 * UDP has no reset, QUIC would wait for its idle timeout) drops the session.
 */
async function probe(link: MuxLink, channel: WebTransportChannel, timeoutMs: number): Promise<boolean> {
  try {
    await link.request(PROBE, { timeoutMs });
    return true;
  } catch (err) {
    if (!isFrancisError(err, "deadline_exceeded") && !link.isClosed) return true;
    channel.destroy(err);
    return false;
  }
}

function send(channel: WebTransportChannel, step: number, msg: RuntimeHello | WtChallenge): void {
  channel.write(encodeFrame(FrameType.Hello, step, enc.encode(JSON.stringify(msg))));
}

function parse<T>(body: Uint8Array): T | undefined {
  try {
    const value = JSON.parse(dec.decode(body));
    return typeof value === "object" && value !== null ? value as T : undefined;
  } catch {
    return undefined;
  }
}

/** Sends `rejected` at `step`, lets the worker read it (graceful close), then fails the handshake. */
async function refuse(
  channel: WebTransportChannel,
  hellos: HelloReader,
  step: number,
  err: unknown,
  code = isFrancisError(err, "runtime_unavailable") ? "runtime_unavailable" : "unauthorized",
): Promise<never> {
  send(channel, step, { kind: "rejected", code, message: errorMessage(err) });
  channel.close();
  await hellos.next(0).catch(() => {}); // settles when the channel closes (or the worker sends anything)
  throw err instanceof Error ? err : new UnauthorizedError(errorMessage(err));
}

const bytes = (b64: unknown, length?: number): Uint8Array | undefined => {
  if (typeof b64 !== "string") return undefined;
  try {
    const out = fromBase64(b64);
    return length === undefined || out.length === length ? out : undefined;
  } catch {
    return undefined;
  }
};

async function admitWt(
  o: RuntimeServerOptions,
  cert: RuntimeWtCertificate,
  channel: WebTransportChannel,
): Promise<AdmittedWorker> {
  const hellos = new HelloReader(channel, WT_ADMISSION_LIMITS);
  const hello = parse<WtClientHello>(await hellos.next(1));
  if (hello?.v !== RUNTIME_PROTOCOL_VERSION) {
    const message = `Cannot admit host: protocol version ${String(hello?.v)} is not ${RUNTIME_PROTOCOL_VERSION}`;
    return await refuse(
      channel,
      hellos,
      2,
      Object.assign(new UnauthorizedError(message), { code: "protocol_version" }),
    );
  }
  const clientNonce = bytes(hello.nonce, 32);
  const clientOnly = hello.clientOnly === true;
  let subject: Uint8Array | undefined;
  try {
    if (clientNonce === undefined) throw new UnauthorizedError("Cannot admit host: malformed nonce");
    if (hello.kind === "cert") {
      subject = typeof hello.certificate === "string" ? pemToDer(hello.certificate) : undefined;
    } else if (hello.kind === "psk" || hello.kind === "jwt") {
      subject = bytes(hello.publicKey);
      if (hello.kind === "psk" && o.hostPskKey === undefined) {
        throw new UnauthorizedError("Cannot admit host: PSK bootstrap is not enabled");
      }
      if (hello.kind === "jwt" && o.jwt === undefined) {
        throw new UnauthorizedError("Cannot admit host: JWT bootstrap is not enabled");
      }
    } else {
      throw new UnauthorizedError("Cannot admit host: unknown hello");
    }
    if (subject === undefined) throw new UnauthorizedError("Cannot admit host: malformed credential");
  } catch (err) {
    return await refuse(channel, hellos, 2, err);
  }
  const serverNonce = newNonce();
  send(channel, 2, { kind: "challenge", nonce: toBase64(serverNonce), certificate: cert.certPem });
  const answer = parse<WtProof>(await hellos.next(3, true));
  try {
    if (hellos.buffered > 0) throw new UnauthorizedError("Cannot admit host: it sent frames before it was admitted");
    if (answer?.kind !== "proof") throw new UnauthorizedError("Cannot admit host: expected a proof");
    const signature = bytes(answer.signature);
    if (signature === undefined) throw new UnauthorizedError("Cannot admit host: no signature");
    const t = await wtAdmissionTranscript({
      runtimeCertHash: cert.hash,
      clientNonce: clientNonce!,
      serverNonce,
      kind: hello.kind,
      subject,
      ...(hello.kind === "jwt" && typeof answer.token === "string" ? { token: answer.token } : {}),
      clientOnly,
    });
    let worker: { hostId: string; certPem?: string; spki: Uint8Array | undefined };
    if (hello.kind === "cert") {
      const peer = await verifyPeerCertificate(subject.slice(), o.caPems, "worker", "host");
      if (!(await verifyWtAdmission(peer.publicKey, t, signature))) {
        throw new UnauthorizedError("Cannot admit host: its signature does not match its certificate");
      }
      const spki = new Uint8Array(await crypto.subtle.exportKey("spki", peer.publicKey));
      worker = { hostId: peer.hostId, spki };
    } else {
      const publicKey = await importWorkerKey(subject);
      if (!(await verifyWtAdmission(publicKey, t, signature))) {
        throw new UnauthorizedError("Cannot admit host: its signature does not match its public key");
      }
      if (hello.kind === "psk") {
        const proof = bytes(answer.proof, 32);
        const ok = proof !== undefined &&
          await verifyBootstrapProof(o.hostPskKey!, t, clientNonce!, serverNonce, proof);
        if (!ok) throw new UnauthorizedError("Cannot admit host: wrong host PSK");
      } else {
        await checkJwt(o, answer.token);
      }
      const issued = await certifyNewHost(o, subject);
      worker = { ...issued, spki: subject };
    }
    checkAccepting(o);
    send(channel, 4, { kind: "admitted", session: sessionGrant(o, worker.hostId, worker.certPem) });
    const { reader, early } = hellos.rest(DEFAULT_MAX_FRAME_BYTES);
    return { hostId: worker.hostId, clientOnly, publicKeySpki: worker.spki, reader, early };
  } catch (err) {
    return await refuse(channel, hellos, 4, err);
  }
}

async function importWorkerKey(spki: Uint8Array): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey("spki", spki.slice(), "Ed25519", true, ["verify"]);
  } catch (err) {
    throw new UnauthorizedError("Cannot admit host: its public key is not an Ed25519 SPKI", { cause: err });
  }
}
