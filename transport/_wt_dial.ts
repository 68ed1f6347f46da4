/**
 * Opening the one stream of a WebTransport session, client side: a
 * cancellable QUIC probe (`_wt_probe.ts`), then `new WebTransport(url, {
 * serverCertificateHashes })` pinning the server leaf, then the session's one
 * bidirectional stream wrapped in a {@linkcode WebTransportChannel}. Shared
 * by the peer transport (`webtransport.ts`) and the worker's runtime session
 * (`host_remote/_wt_connect.ts`). Deno with `--unstable-net` only.
 *
 * @module
 */

import { formatAddress } from "../_internal/address.ts";
import { WebTransportChannel } from "./_wt_channel.ts";
import { probeQuic } from "./_wt_probe.ts";

/** URL path of every session (servers do not route on it). */
export const WT_PATH = "/francis/v1";

/**
 * Opens a session to `host:port` whose server certificate has one of the
 * `pinned` SHA-256 hashes, and its one bidirectional stream. Nothing is sent
 * on the stream yet. When `signal` aborts, everything opened so far is closed
 * and the promise rejects with `signal.reason`.
 *
 * @param host IP or name of the server.
 * @param port UDP port.
 * @param pinned SHA-256 hashes (32 bytes each) of acceptable server leaves; at least one.
 * @param signal Aborts the attempt.
 * @returns The channel; the caller owns it (and the session).
 * @throws {TypeError} When `pinned` is empty or holds something other than 32-byte hashes.
 *
 * @example
 * ```ts ignore
 * const channel = await openWebTransportChannel("127.0.0.1", 7400, [hash], AbortSignal.timeout(5_000));
 * ```
 */
export async function openWebTransportChannel(
  host: string,
  port: number,
  pinned: readonly Uint8Array[],
  signal: AbortSignal,
): Promise<WebTransportChannel> {
  if (pinned.length === 0 || !pinned.every((h) => h instanceof Uint8Array && h.length === 32)) {
    throw new TypeError("Cannot open WebTransport session: pinned must hold 32-byte SHA-256 hashes");
  }
  await probeQuic(host, port, pinned, signal);
  signal.throwIfAborted();
  const hashes = pinned.map((value) => ({ algorithm: "sha-256", value: value.slice() as Uint8Array<ArrayBuffer> }));
  const wt = new WebTransport(`https://${formatAddress(host, port)}${WT_PATH}`, { serverCertificateHashes: hashes });
  wt.closed.catch(() => {});
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  aborted.catch(() => {});
  try {
    await Promise.race([wt.ready, aborted]);
    const stream = await Promise.race([wt.createBidirectionalStream(), aborted]);
    return new WebTransportChannel(wt, stream);
  } catch (err) {
    closeQuietly(wt);
    throw err;
  }
}

/**
 * Closes a session, ignoring an already-closed one.
 *
 * @example
 * ```ts ignore
 * closeQuietly(wt);
 * ```
 */
export function closeQuietly(wt: WebTransport): void {
  try {
    wt.close({ closeCode: 1, reason: "dial abandoned" });
  } catch {
    // Already closed.
  }
}
