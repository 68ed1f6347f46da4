/**
 * The experimental WebTransport option where it is not available (this test
 * run has no `--unstable-net`), its validation, its configuration key and
 * CLI, and the static module graph: stable entry points never reach
 * WebTransport code.
 */

import assert from "node:assert/strict";
import { RemoteHost } from "../host_remote/mod.ts";
import type { RemoteHostOptions } from "../host_remote/options.ts";
import { loadRuntimeConfig, startRuntime } from "../runtime/mod.ts";
import { runCli } from "../runtime/cli.ts";
import { processIo } from "../runtime/cli.ts";
import { deriveRuntimeWtCertificate, deriveRuntimeWtCertificateHash } from "../runtime/_wt_certificate.ts";
import { staticGraph } from "./_shared/module_graph.ts";

const PSK = "an-example-runtime-psk-of-32-bytes-or-more";
const HASH = "ab".repeat(32);
const base: RemoteHostOptions = {
  address: "127.0.0.1:0",
  runtimeAddresses: ["127.0.0.1:7400"],
  bootstrap: { psk: "worker-bootstrap-secret-123" },
  unsafeNoPinnedCa: true,
};

function throwsWith(options: Partial<RemoteHostOptions>, message: string): void {
  assert.throws(() => new RemoteHost({ ...base, ...options } as RemoteHostOptions), (err: Error) => {
    assert.ok(err instanceof TypeError, `${err}`);
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("wt options: RemoteHost transport webtransport is validated, and needs --unstable-net", () => {
  throwsWith(
    { transport: "webtransport" },
    'Cannot create RemoteHost: runtimeCertificateHash is required with transport "webtransport" ' +
      '(print it with "francis print-ca --webtransport-hash")',
  );
  throwsWith(
    { runtimeCertificateHash: HASH },
    'Cannot create RemoteHost: runtimeCertificateHash is only used with transport "webtransport"',
  );
  throwsWith(
    { transport: "webtransport", runtimeCertificateHash: "abc" },
    "Cannot create RemoteHost: runtimeCertificateHash[0] must be a SHA-256 in hex, 64 digits (got 3 characters)",
  );
  throwsWith(
    { transport: "webtransport", runtimeCertificateHash: [] },
    "Cannot create RemoteHost: runtimeCertificateHash must be a hex string or a non-empty list of them",
  );
  throwsWith(
    { transport: "quic" as "tls" },
    'Cannot create RemoteHost: transport must be "tls" or "webtransport" (got "quic")',
  );
  // Well-formed (colons and upper case allowed), but this process has no --unstable-net.
  const colons = HASH.toUpperCase().match(/../g)!.join(":");
  throwsWith(
    { transport: "webtransport", runtimeCertificateHash: [HASH, colons] },
    'Cannot create RemoteHost: transport "webtransport" needs Deno with --unstable-net',
  );
});

Deno.test("wt options: startRuntime and the transport config key refuse webtransport without --unstable-net", async () => {
  await assert.rejects(
    startRuntime({
      bind: "127.0.0.1:0",
      runtimePsks: [PSK],
      bootstrap: { method: "psk", hostPsk: "worker-bootstrap-secret-123" },
      provider: { connectionString: "memory" },
      transport: "webtransport",
    }),
    new TypeError('Cannot start runtime: transport "webtransport" needs Deno with --unstable-net'),
  );
  const env = {
    FRANCIS_RUNTIME_PSKS: PSK,
    FRANCIS_BOOTSTRAP_METHOD: "psk",
    FRANCIS_BOOTSTRAP_HOST_PSK: "worker-bootstrap-secret-123",
    FRANCIS_PROVIDER_CONNECTION_STRING: "memory",
  };
  const cwd = "/nonexistent-dir";
  // The key parses; without --unstable-net the configuration is refused (the CLI exits 78), naming the flag.
  await assert.rejects(
    loadRuntimeConfig({ env: { ...env, FRANCIS_TRANSPORT: "webtransport" }, cwd }),
    /transport "webtransport" needs Deno with --unstable-net/,
  );
  assert.equal((await loadRuntimeConfig({ env, cwd })).transport, "tls");
  await assert.rejects(loadRuntimeConfig({ env: { ...env, FRANCIS_TRANSPORT: "quic" }, cwd }), /transport/);
});

Deno.test("wt options: print-ca --webtransport-hash prints the stable hash of each PSK's runtime certificate", async () => {
  const other = "another-example-runtime-psk-of-32-bytes-or-more";
  let out = "";
  const io = { ...processIo(), env: { FRANCIS_RUNTIME_PSKS: `${PSK},${other}` }, cwd: "/nonexistent-dir" };
  assert.equal(await runCli(["print-ca", "--webtransport-hash"], { ...io, stdout: (t) => (out += t) }), 0);
  assert.equal(out, `${await deriveRuntimeWtCertificateHash(PSK)}\n${await deriveRuntimeWtCertificateHash(other)}\n`);
  const [a, b] = [await deriveRuntimeWtCertificate(PSK), await deriveRuntimeWtCertificate(PSK)];
  assert.equal(a.certPem, b.certPem, "byte-identical on every derivation (replicas, restarts)");
  assert.notEqual(out.split("\n")[0], out.split("\n")[1], "one hash per PSK");
});

for (
  const entry of [
    "../mod.ts",
    "../host_remote/mod.ts",
    "../host_local/mod.ts",
    "../runtime/mod.ts",
    "../runtime/main.ts",
  ]
) {
  Deno.test(`wt module graph: ${entry.slice(3)} statically reaches no WebTransport code`, async () => {
    const specifiers = await staticGraph(new URL(entry, import.meta.url));
    assert.ok(specifiers.length >= 2, "the graph looks empty");
    const wt = specifiers.filter((s) => /\/_wt_[^/]*\.ts$|\/_webtransport_[^/]*\.ts$|\/webtransport\.ts$/.test(s));
    assert.deepEqual(wt, [], `${entry} statically imports WebTransport modules`);
  });
}
