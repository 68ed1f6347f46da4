/**
 * Cross-runtime checks under real Node (C-98): `security/mod.ts` is bundled
 * with its npm dependencies left external, `@peculiar/x509` and
 * `reflect-metadata` are installed from npm into a temp dir, and Node runs it.
 * - The cluster CA PEM is byte-identical to Deno's.
 * - A Node `node:tls` server (exporter from `exportKeyingMaterial`) and a Deno
 *   client (exporter from `getFinished()`) agree on the exporter and accept
 *   each other's link proofs.
 * Ignored when `node` is not on PATH; needs npm (the npm cache suffices once filled).
 */

import assert from "node:assert/strict";
import tls from "node:tls";
import { TextLineStream } from "../tests/_shared/lines.ts";
import { computeLinkProof, createHostCredentials, deriveClusterCaPem, tlsExporter, verifyLinkProof } from "./mod.ts";

const PSK = "cross-runtime pre-shared key, 32 bytes or more";

function hasNode(): boolean {
  try {
    return new Deno.Command("node", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

const NODE_SCRIPT = `
import tls from "node:tls";
import * as sec from "./security.mjs";
const [mode, psk] = process.argv.slice(2);
if (mode === "pem") {
  process.stdout.write(await sec.deriveClusterCaPem(psk));
} else {
  const creds = await sec.createHostCredentials([new TextEncoder().encode(psk)], "node-srv");
  const hex = (b) => Buffer.from(b).toString("hex");
  const server = tls.createServer({ key: creds.keyPem, cert: creds.certPem, ca: [...creds.caPems],
    requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" }, (sock) => {
    const exporter = sec.tlsExporter(sock, "server");
    const peer = sec.parseIdentity(sec.identityFromPeerCertificate(sock.getPeerCertificate())).id;
    const ids = { clientId: peer, serverId: "node-srv" };
    sock.once("data", async (proof) => {
      const ok = await sec.verifyLinkProof(creds.authKeys, "client", exporter, ids, new Uint8Array(proof));
      console.log("exporter " + hex(exporter) + " peer " + peer + " clientProof " + ok);
      sock.end(await sec.computeLinkProof(creds.authKeys[0], "server", exporter, ids));
      server.close();
    });
  });
  server.listen(0, "127.0.0.1", () => console.log("port " + server.address().port));
}
`;

Deno.test({
  name: "node interop: Node derives the byte-identical CA PEM and agrees on the TLS exporter and proofs",
  ignore: !hasNode(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "francis-node-" });
    try {
      const config = new URL("../deno.json", import.meta.url).pathname;
      const entry = new URL("./mod.ts", import.meta.url).pathname;
      await run(Deno.execPath(), [
        "bundle",
        "--config",
        config,
        "--platform",
        "deno",
        "--external",
        "@peculiar/x509",
        "--external",
        "reflect-metadata",
        "-o",
        `${dir}/security.mjs`,
        entry,
      ], dir);
      await Deno.writeTextFile(`${dir}/package.json`, JSON.stringify({ type: "module", private: true }));
      await Deno.writeTextFile(`${dir}/main.mjs`, NODE_SCRIPT);
      await run("npm", [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "@peculiar/x509@2.2.0",
        "reflect-metadata@0.2.2",
      ], dir);

      assert.equal(await run("node", ["main.mjs", "pem", PSK], dir), await deriveClusterCaPem(PSK));

      const child = new Deno.Command("node", { args: ["main.mjs", "server", PSK], cwd: dir, stdout: "piped" }).spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(new TextLineStream()).getReader();
      try {
        const port = Number((await lines.read()).value?.split(" ")[1]);
        const creds = await createHostCredentials([new TextEncoder().encode(PSK)], "deno-cli");
        const client = await new Promise<{ exporter: Uint8Array; serverProofOk: boolean }>((resolve, reject) => {
          const sock = tls.connect({
            host: "127.0.0.1",
            port,
            key: creds.keyPem,
            cert: creds.certPem,
            ca: [...creds.caPems],
            minVersion: "TLSv1.3",
            checkServerIdentity: () => undefined,
          }, async () => {
            const exporter = tlsExporter(sock, "client");
            const ids = { clientId: "deno-cli", serverId: "node-srv" };
            sock.write(await computeLinkProof(creds.authKeys[0], "client", exporter, ids));
            sock.once("data", async (proof: Uint8Array) => {
              resolve({
                exporter,
                serverProofOk: await verifyLinkProof(creds.authKeys, "server", exporter, ids, proof),
              });
            });
          });
          sock.on("error", reject);
          sock.on("end", () => sock.end());
        });
        const [, nodeExporter, , peer, , clientProofOk] = ((await lines.read()).value ?? "").split(" ");
        assert.equal(nodeExporter, Array.from(client.exporter, (b) => b.toString(16).padStart(2, "0")).join(""));
        assert.equal(peer, "deno-cli");
        assert.equal(clientProofOk, "true");
        assert.ok(client.serverProofOk);
        assert.equal((await child.status).code, 0);
      } finally {
        await lines.cancel();
        try {
          child.kill();
        } catch {
          // already exited
        }
        await child.status;
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
