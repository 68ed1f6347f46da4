/**
 * The runtime's HTTP liveness and readiness endpoints (added to API.md §19):
 * `GET /livez` answers 200 while the process runs; `GET /readyz` answers 200
 * once the runtime accepts workers and 503 before and while stopping. No
 * client certificate is needed and nothing secret is revealed (no IDs, no
 * addresses, no configuration). Uses `Deno.serve`, loaded only when the
 * endpoints are enabled.
 *
 * @module
 */

/**
 * Serves the endpoints on `bind` (port 0 picks a free port).
 *
 * @example
 * ```ts
 * import { serveHealth } from "./http.ts";
 * const http = await serveHealth({ host: "127.0.0.1", port: 0 }, () => true);
 * const res = await fetch(`http://127.0.0.1:${http.port}/readyz`);
 * console.log(res.status, await res.text()); // 200 ready
 * await http.close();
 * ```
 */
export async function serveHealth(
  bind: { host: string; port: number },
  ready: () => boolean,
): Promise<{ port: number; close(): Promise<void> }> {
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: bind.host,
    port: bind.port,
    onListen: ({ port }) => listening.resolve(port),
    onError: () => new Response("error", { status: 500 }),
  }, (req) => {
    const path = new URL(req.url).pathname;
    const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed", { status: 405, headers });
    }
    if (path === "/livez") return new Response("ok", { status: 200, headers });
    if (path === "/readyz") {
      return ready()
        ? new Response("ready", { status: 200, headers })
        : new Response("not ready", { status: 503, headers });
    }
    return new Response("not found", { status: 404, headers });
  });
  const port = await listening.promise;
  return { port, close: () => server.shutdown() };
}
