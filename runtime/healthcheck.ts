/**
 * The `healthcheck` probe (API.md §19.3, C-108): a TLS 1.3 connection to the
 * runtime's worker endpoint that verifies the runtime certificate against the
 * PSK-derived cluster CAs and its SAN identity (`spiffe://francis/runtime/<id>`),
 * presents no client certificate, sends the `probe` hello and reads one
 * `health` hello back (`runtime/protocol.ts`).
 *
 * `node:tls` is imported only when a probe runs.
 *
 * @module
 */

import type { PeerCertificate } from "node:tls";
import { parseAddress } from "../_internal/address.ts";
import { errorMessage } from "../_internal/logger.ts";
import { identityFromPeerCertificate, parseIdentity } from "../security/identity.ts";
import { encodeFrame, FrameReader, FrameType } from "../transport/frames.ts";
import { type ClientHello, RUNTIME_PROTOCOL_VERSION, type RuntimeHello } from "./protocol.ts";

/** Options of {@linkcode probeRuntime}. */
export interface ProbeOptions {
  /** The runtime's `"host:port"`. */
  address: string;
  /** Trusted cluster CA PEMs (one per runtime PSK). Ignored with `insecureSkipVerify`. */
  caPems: readonly string[];
  /** Overall deadline, ms. */
  timeoutMs: number;
  /** Skip certificate and identity verification. @default {false} */
  insecureSkipVerify?: boolean;
  /** Receives a line per step (for `--verbose`). */
  onStep?: (line: string) => void;
}

/** What the probe found. */
export interface ProbeResult {
  /** `ok && ready` as the runtime reported them; false on any failure. */
  healthy: boolean;
  /** The runtime's answer, when one arrived. */
  health?: { ok: boolean; ready: boolean; runtimeId: string };
  /** Why the runtime is not healthy, when it is not. */
  reason?: string;
}

/** Largest answer frame accepted. */
const MAX_ANSWER_BYTES = 65_536;

/** Accepts only a certificate whose single Francis identity is a runtime's. */
function runtimeIdentityError(cert: Partial<PeerCertificate> | undefined): Error | undefined {
  const uri = cert === undefined ? undefined : identityFromPeerCertificate(cert as { subjectaltname?: string });
  const identity = uri === undefined ? undefined : parseIdentity(uri);
  if (identity?.kind === "runtime") return undefined;
  return new Error(`the certificate does not name a runtime (${uri ?? "no Francis identity"})`);
}

function parseAnswer(body: Uint8Array): ProbeResult {
  let msg: RuntimeHello;
  try {
    msg = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body)) as RuntimeHello;
  } catch {
    return { healthy: false, reason: "the runtime answered with a malformed hello" };
  }
  if (msg?.kind === "rejected") return { healthy: false, reason: `the runtime rejected the probe: ${msg.message}` };
  if (msg?.kind !== "health" || typeof msg.ok !== "boolean" || typeof msg.ready !== "boolean") {
    return { healthy: false, reason: `the runtime answered with an unexpected hello` };
  }
  const health = { ok: msg.ok, ready: msg.ready, runtimeId: String(msg.runtimeId) };
  if (health.ok && health.ready) return { healthy: true, health };
  return { healthy: false, health, reason: health.ok ? "the runtime is not ready" : "the runtime is not ok" };
}

/**
 * Probes a runtime. Never throws for network or TLS failures: they come back
 * as `{ healthy: false, reason }`.
 *
 * @param options Address, trusted CAs and deadline.
 * @returns The outcome, within `timeoutMs`.
 *
 * @example
 * ```ts
 * import { probeRuntime } from "./healthcheck.ts";
 * const r = await probeRuntime({ address: "127.0.0.1:1", caPems: [], timeoutMs: 1_000 });
 * console.log(r.healthy); // false
 * ```
 */
export async function probeRuntime(options: ProbeOptions): Promise<ProbeResult> {
  const { address, timeoutMs, onStep } = options;
  const insecure = options.insecureSkipVerify === true;
  const { host, port } = parseAddress(address, "probe runtime", "address");
  const tls = await import("node:tls");
  onStep?.(`connecting to ${address}${insecure ? " (certificate not verified)" : ""}`);
  return await new Promise<ProbeResult>((resolve) => {
    const socket = tls.connect({
      host,
      port,
      ...(insecure ? { rejectUnauthorized: false } : { ca: [...options.caPems], rejectUnauthorized: true }),
      minVersion: "TLSv1.3",
      maxVersion: "TLSv1.3",
      checkServerIdentity: (_name, cert) => (insecure ? undefined : runtimeIdentityError(cert)),
    });
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      onStep?.(result.healthy ? "healthy" : `unhealthy: ${result.reason}`);
      resolve(result);
    };
    const timer = setTimeout(() => finish({ healthy: false, reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on("error", (err) => finish({ healthy: false, reason: errorMessage(err) }));
    socket.on("close", () => finish({ healthy: false, reason: "the runtime closed the connection" }));
    socket.once("secureConnect", () => {
      const cert = socket.getPeerCertificate();
      const idError = insecure ? undefined : runtimeIdentityError(cert);
      if (idError !== undefined) return finish({ healthy: false, reason: idError.message });
      onStep?.(`connected; peer ${identityFromPeerCertificate(cert) ?? "without a Francis identity"}`);
      const reader = new FrameReader((type, _id, body) => {
        if (type === FrameType.Hello) finish(parseAnswer(body));
        else finish({ healthy: false, reason: `the runtime sent frame type ${type} instead of a hello` });
      }, MAX_ANSWER_BYTES);
      socket.on("data", (chunk: Uint8Array) => {
        try {
          reader.push(chunk);
        } catch (err) {
          finish({ healthy: false, reason: errorMessage(err) });
        }
      });
      const hello: ClientHello = { v: RUNTIME_PROTOCOL_VERSION, kind: "probe" };
      socket.write(encodeFrame(FrameType.Hello, 0, new TextEncoder().encode(JSON.stringify(hello))));
      onStep?.("sent probe");
    });
  });
}
