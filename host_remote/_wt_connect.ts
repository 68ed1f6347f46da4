/**
 * One **experimental** WebTransport connection attempt of a worker to a
 * runtime (Deno with `--unstable-net` only; loaded by `session.ts` with a
 * dynamic `import()` when `transport` is `"webtransport"`).
 *
 * QUIC authenticates the runtime by the pinned certificate hash (nothing is
 * sent before that). On the session's one stream, the four-step admission of
 * `runtime/protocol.ts`: the worker checks that the certificate the runtime
 * shows hashes to a pinned value (and, unless trusting on first use, that it
 * chains to the pinned CA and names a runtime), then signs the transcript
 * bound to that hash and both nonces (`runtime/admission/_wt_binding.ts`),
 * adding the host-PSK proof or the join token.
 *
 * @module
 */

import { DeadlineExceededError, ProtocolVersionError, RetryLaterError, UnauthorizedError } from "../errors.ts";
import { parseAddress } from "../_internal/address.ts";
import { errorMessage } from "../_internal/logger.ts";
import { fromBase64, toBase64 } from "../_internal/base64.ts";
import { encodeFrame, FrameType } from "../transport/frames.ts";
import { MuxLink } from "../transport/mux.ts";
import { openWebTransportChannel } from "../transport/_wt_dial.ts";
import type { WebTransportChannel } from "../transport/_wt_channel.ts";
import { HelloReader } from "../transport/_wt_hello.ts";
import { pemToDer, verifyPeerCertificate } from "../transport/_wt_certificate.ts";
import { computeBootstrapProof, newNonce } from "../runtime/admission/psk_proof.ts";
import { signWtAdmission, wtAdmissionTranscript } from "../runtime/admission/_wt_binding.ts";
import { sha256, timingSafeEqual } from "../security/_bytes.ts";
import {
  RUNTIME_PROTOCOL_VERSION,
  type RuntimeHello,
  type SessionGrant,
  WT_ADMISSION_LIMITS,
  type WtChallenge,
} from "../runtime/protocol.ts";
import { type ConnectOptions, hostPskKey, rejectionError, runtimeRequestHandler } from "./connect.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "../transport/frames.ts";

/** Inputs of a WebTransport attempt. */
export interface WtConnectOptions extends ConnectOptions {
  /** SHA-256 hashes (32 bytes) of acceptable runtime WebTransport certificates. */
  pinnedHashes: readonly Uint8Array[];
  /** The worker's Ed25519 private key (the one its certificate certifies, or will). */
  privateKey: CryptoKey;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * Connects over WebTransport and gets admitted; rejects as `connectRuntime`
 * does: `UnauthorizedError` (a certificate that is not pinned, a wrong PSK, a
 * rejected token), `ProtocolVersionError`, or `RetryLaterError` (unreachable,
 * timed out, dropped during the handshake).
 *
 * @example
 * ```ts ignore
 * const { link, grant } = await connectRuntimeWt({ ...options, pinnedHashes: [hash], privateKey });
 * ```
 */
export async function connectRuntimeWt(o: WtConnectOptions): Promise<{ link: MuxLink; grant: SessionGrant }> {
  const { host, port } = parseAddress(o.address, "connect to runtime", "address");
  const give = new AbortController();
  const timer = setTimeout(
    () => give.abort(new DeadlineExceededError(`no admission within ${o.timeoutMs} ms`)),
    o.timeoutMs,
  );
  const aborted = new Promise<never>((_, reject) =>
    give.signal.addEventListener("abort", () => reject(give.signal.reason))
  );
  aborted.catch(() => {});
  let channel: WebTransportChannel | undefined;
  let closing = false;
  try {
    try {
      channel = await openWebTransportChannel(host, port, o.pinnedHashes, give.signal);
    } catch (err) {
      // A certificate whose hash is not pinned fails the QUIC handshake itself ("invalid peer certificate").
      if (/certificate|UnknownIssuer/i.test(errorMessage(err))) {
        throw new UnauthorizedError(`Cannot connect to runtime ${o.address}: ${errorMessage(err)}`, { cause: err });
      }
      throw err;
    }
    const ch = channel;
    const hellos = new HelloReader(ch, WT_ADMISSION_LIMITS);
    const next = async (step: number, last = false): Promise<RuntimeHello | WtChallenge> => {
      const body = await Promise.race([hellos.next(step, last), aborted]);
      const msg = JSON.parse(dec.decode(body));
      if (msg?.kind === "rejected") {
        closing = true;
        ch.close(); // graceful: the runtime waits for our end before it closes
        throw rejectionError(o.address, msg);
      }
      return msg;
    };
    const send = (step: number, msg: unknown) =>
      ch.write(encodeFrame(FrameType.Hello, step, enc.encode(JSON.stringify(msg))));
    const c = o.credential;
    const clientNonce = newNonce();
    const subject = c.kind === "cert" ? pemToDer(c.certPem) : fromBase64(o.publicKeySpki);
    send(1, {
      v: RUNTIME_PROTOCOL_VERSION,
      kind: c.kind,
      nonce: toBase64(clientNonce),
      ...(c.kind === "cert" ? { certificate: c.certPem } : { publicKey: o.publicKeySpki }),
      clientOnly: o.clientOnly,
    });
    const challenge = await next(2);
    if (challenge.kind !== "challenge" || !("certificate" in challenge)) {
      throw new UnauthorizedError(`Cannot join runtime ${o.address}: unexpected answer`);
    }
    const runtimeCertHash = await checkRuntimeCertificate(o, challenge.certificate);
    const serverNonce = fromBase64(challenge.nonce);
    const token = c.kind === "jwt" ? c.token : undefined;
    const t = await wtAdmissionTranscript({
      runtimeCertHash,
      clientNonce,
      serverNonce,
      kind: c.kind,
      subject,
      ...(token === undefined ? {} : { token }),
      clientOnly: o.clientOnly,
    });
    const signature = toBase64(await signWtAdmission(o.privateKey, t));
    const proof = c.kind === "psk"
      ? toBase64(await computeBootstrapProof(await hostPskKey(c), t, clientNonce, serverNonce))
      : undefined;
    send(3, {
      kind: "proof",
      signature,
      ...(proof === undefined ? {} : { proof }),
      ...(token === undefined ? {} : { token }),
    });
    const admitted = await next(4, true);
    if (admitted.kind !== "admitted") {
      throw new UnauthorizedError(`Cannot join runtime ${o.address}: unexpected answer`);
    }
    clearTimeout(timer);
    const { reader, early } = hellos.rest(DEFAULT_MAX_FRAME_BYTES);
    const link = new MuxLink(ch, {
      peerId: `runtime:${admitted.session.runtimeId}`,
      handler: runtimeRequestHandler(o),
      maxInFlightRequests: o.maxInFlightRequests,
      keepaliveMs: o.keepaliveMs,
      reader,
      early,
    });
    return { link, grant: admitted.session };
  } catch (err) {
    clearTimeout(timer);
    give.abort(err);
    if (!closing) channel?.destroy();
    if (err instanceof UnauthorizedError || err instanceof ProtocolVersionError || err instanceof RetryLaterError) {
      throw err;
    }
    throw new RetryLaterError(`Cannot connect to runtime ${o.address}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The runtime's certificate must hash to a pinned value and, with a pinned CA, chain to it and name a runtime. */
async function checkRuntimeCertificate(o: WtConnectOptions, pem: unknown): Promise<Uint8Array> {
  const fail = (why: string) => new UnauthorizedError(`Cannot join runtime ${o.address}: ${why}`);
  if (typeof pem !== "string") throw fail("no runtime certificate");
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = pemToDer(pem);
  } catch {
    throw fail("malformed runtime certificate");
  }
  const hash = await sha256(der);
  if (!o.pinnedHashes.some((h) => timingSafeEqual(h, hash))) {
    throw fail("the runtime certificate is not the pinned one");
  }
  if (o.caPems !== undefined) await verifyPeerCertificate(der, o.caPems, "runtime", "runtime");
  return hash;
}
