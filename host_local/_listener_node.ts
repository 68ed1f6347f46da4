/**
 * The host's TCP listener. It binds `address` so that the port is reserved
 * and resolved (port 0) and the advertise address is unique. Until peer links
 * land, an inbound connection is closed at once.
 *
 * `node:net` is imported lazily, inside `start()`, so evaluating the package
 * entry points loads no networking code.
 *
 * @module
 */

/** A bound listener. */
export interface PeerListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Binds `host:port` (0 picks a free port).
 *
 * @example
 * ```ts
 * import { listenPeer } from "./_listener_node.ts";
 * const l = await listenPeer("127.0.0.1", 0);
 * console.log(l.port > 0); // true
 * await l.close();
 * ```
 */
export async function listenPeer(host: string, port: number): Promise<PeerListener> {
  const net = await import("node:net");
  const sockets = new Set<import("node:net").Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === "object" && address !== null ? address.port : port;
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
