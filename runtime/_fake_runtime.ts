/**
 * A stand-in for the runtime's worker endpoint, for healthcheck tests only:
 * a TLS 1.3 server presenting a leaf under a PSK's cluster CA that answers the
 * `probe` hello with a fixed `health` hello.
 *
 * @module
 */

import type { Server, TLSSocket } from "node:tls";
import { deriveClusterCa } from "../security/cluster_ca.ts";
import { issueLeafCertificate } from "../security/leaf.ts";
import { encodeFrame, FrameReader, FrameType } from "../transport/frames.ts";
import type { RuntimeHello } from "./protocol.ts";

/** Options of {@linkcode startFakeRuntime}. */
export interface FakeRuntimeOptions {
  /** The PSK whose CA signs the server certificate. */
  psk: string;
  /** The certificate identity. @default {"spiffe://francis/runtime/fake-runtime"} */
  identity?: string;
  /** The answer to a probe; `undefined` means never answer. */
  answer?: RuntimeHello;
}

/** A running fake runtime. */
export interface FakeRuntime extends AsyncDisposable {
  /** `"127.0.0.1:<port>"`. */
  readonly address: string;
  /** Probes received. */
  readonly probes: unknown[];
  close(): Promise<void>;
}

/**
 * Starts a fake runtime on a free loopback port.
 *
 * @example
 * ```ts ignore
 * import { startFakeRuntime } from "./_fake_runtime.ts";
 * await using fake = await startFakeRuntime({ psk: "x".repeat(32) });
 * ```
 */
export async function startFakeRuntime(options: FakeRuntimeOptions): Promise<FakeRuntime> {
  const tls = await import("node:tls");
  const ca = await deriveClusterCa(new TextEncoder().encode(options.psk));
  const identity = options.identity ?? "spiffe://francis/runtime/fake-runtime";
  const leaf = await issueLeafCertificate(ca, { identity, ttlMs: 3_600_000 });
  const probes: unknown[] = [];
  const sockets = new Set<TLSSocket>();
  const server: Server = tls.createServer({
    key: leaf.keyPem,
    cert: leaf.certPem,
    minVersion: "TLSv1.3",
    maxVersion: "TLSv1.3",
  }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    const reader = new FrameReader((type, _id, body) => {
      if (type !== FrameType.Hello) return;
      probes.push(JSON.parse(new TextDecoder().decode(body)));
      if (options.answer === undefined) return;
      socket.end(encodeFrame(FrameType.Hello, 0, new TextEncoder().encode(JSON.stringify(options.answer))));
    });
    socket.on("data", (chunk: Uint8Array) => reader.push(chunk));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { address: `127.0.0.1:${port}`, probes, close, [Symbol.asyncDispose]: close };
}
