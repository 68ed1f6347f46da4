/**
 * A cancellable reachability probe run before each WebTransport dial.
 *
 * In Deno 2.9.6 a `WebTransport` whose server never answers cannot be
 * cancelled: `close()` leaves its internal QUIC connect running until QUIC's
 * own timeout (about 10 s), whatever the dial's `timeoutMs`. A raw
 * `Deno.connectQuic` on an endpoint of our own stops at once when that
 * endpoint is closed. So the dialer first completes a QUIC handshake to the
 * server, pinning the same certificate hashes, and only then opens the
 * WebTransport session. The probe costs one extra QUIC handshake per dial
 * (links are long-lived) and checks the pinned certificate early. It uses
 * its own ALPN so that the server never starts an HTTP/3 upgrade for it.
 *
 * @module
 */

const PROBE_CLOSE = { closeCode: 0, reason: "probe" };

/**
 * ALPN of probes. Listeners announce it beside `h3` and close such
 * connections at once, without starting an HTTP/3 / WebTransport upgrade.
 */
export const PROBE_ALPN = "francis-wt-probe";

/**
 * Resolves once a QUIC handshake with the pinned server succeeded; rejects
 * with the QUIC error, or with `signal.reason` as soon as `signal` aborts.
 *
 * @param host IP or name of the server.
 * @param port UDP port.
 * @param pinned SHA-256 hashes of acceptable server leaves.
 * @param signal Aborts the probe (the endpoint is closed, nothing stays pending).
 *
 * @example
 * ```ts ignore
 * await probeQuic("127.0.0.1", 7571, [hash], AbortSignal.timeout(5_000));
 * ```
 */
export async function probeQuic(
  host: string,
  port: number,
  pinned: readonly Uint8Array[],
  signal: AbortSignal,
): Promise<void> {
  signal.throwIfAborted();
  const endpoint = new Deno.QuicEndpoint({ hostname: host.includes(":") ? "::" : "0.0.0.0", port: 0 });
  const onAbort = () => endpoint.close(PROBE_CLOSE);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const options = {
      endpoint,
      hostname: host,
      port,
      alpnProtocols: [PROBE_ALPN],
      // Accepted by Deno 2.9.6 though not in its types: pins exactly as WebTransport does.
      serverCertificateHashes: pinned.map((value) => ({ algorithm: "sha-256", value })),
    } as Deno.ConnectQuicOptions<false>;
    let conn: Deno.QuicConn;
    try {
      conn = await Deno.connectQuic(options);
    } catch (err) {
      signal.throwIfAborted();
      throw err;
    }
    conn.close(PROBE_CLOSE);
  } finally {
    signal.removeEventListener("abort", onAbort);
    try {
      endpoint.close(PROBE_CLOSE);
    } catch {
      // Already closed.
    }
  }
}
