/**
 * Packaging (docs/PACKAGING.md): `deno task bundle` output runs from an empty
 * folder holding only `runtime.js` and the `francis` launcher, with nothing
 * but a `deno` binary on PATH and an empty DENO_DIR (so no cached npm
 * package can help). And `deno task compile` fails fast and clearly when it
 * has no `denort`; it is only built for real when `DENORT_BIN` (or the cached
 * denort zip) is present, since nothing else can supply it offline.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { buildBundle } from "../scripts/bundle.ts";
import { denortLocations } from "../scripts/compile.ts";
import { run, type RunResult } from "../scripts/_runtime_build.ts";

const PSK = "bundle-test-runtime-psk-0123456789-abcdef";
const SCRIPTS = new URL("../scripts/", import.meta.url).pathname;
const COMPILE_TASK_PERMISSIONS = ["--allow-read", "--allow-write", "--allow-run", "--allow-env", "--allow-net"];

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** A folder tree for one test: `bin/deno` (a link to this deno), `home/` and an empty `home/deno-dir/`. */
async function sandbox(): Promise<{ root: string; bin: string; env: Record<string, string> }> {
  const root = await Deno.makeTempDir({ prefix: "francis-bundle-" });
  const bin = join(root, "bin");
  await Deno.mkdir(bin);
  await Deno.symlink(Deno.execPath(), join(bin, "deno"));
  const home = join(root, "home");
  await Deno.mkdir(join(home, "deno-dir"), { recursive: true });
  const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: home, DENO_DIR: join(home, "deno-dir"), NO_COLOR: "1" };
  return { root, bin, env };
}

Deno.test("bundle: runtime.js + launcher run from an empty folder with only deno on PATH", async (t) => {
  const { root, bin, env } = await sandbox();
  try {
    const built = await buildBundle({ outDir: join(root, "build") });
    const app = join(root, "app");
    await Deno.mkdir(app);
    await Deno.copyFile(built.runtimeJs, join(app, "runtime.js"));
    await Deno.copyFile(built.launcher, join(app, "francis"));
    await Deno.chmod(join(app, "francis"), 0o755);
    const names = (await Array.fromAsync(Deno.readDir(app))).map((e) => e.name).sort();
    assert.deepEqual(names, ["francis", "runtime.js"]);
    assert.ok(built.bytes > 100_000, `runtime.js is only ${built.bytes} bytes`);

    const francis = (args: string[], extra: Record<string, string> = {}, cwd = app): Promise<RunResult> =>
      run("./francis", args, { cwd, env: { ...env, ...extra }, timeoutMs: 15_000, clearEnv: true });

    await t.step("version prints francis <semver>", async () => {
      const r = await francis(["version"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^francis \d+\.\d+\.\d+(-[\w.]+)? \(deno \d+\.\d+\.\d+\)\n$/);
      assert.ok(r.stdout.startsWith(`francis ${built.version} `));
    });

    await t.step("print-ca with the config from the environment", async () => {
      const r = await francis(["print-ca"], { FRANCIS_RUNTIME_PSKS: PSK });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, await deriveClusterCaPem(PSK));
    });

    await t.step("the launcher finds deno through $DENO or next to itself, else says it is missing", async () => {
      const noDeno = { PATH: "/usr/bin:/bin" };
      const viaEnv = await francis(["version"], { ...noDeno, DENO: join(bin, "deno") });
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      const badEnv = await francis(["version"], { DENO: join(root, "no-such-deno") });
      assert.equal(badEnv.code, 127);
      assert.match(badEnv.stderr, /DENO=.* is not an executable/);
      const beside = join(root, "beside");
      await Deno.mkdir(beside);
      for (const name of ["francis", "runtime.js"]) await Deno.copyFile(join(app, name), join(beside, name));
      await Deno.symlink(Deno.execPath(), join(beside, "deno"));
      const viaSibling = await francis(["version"], noDeno, beside);
      assert.equal(viaSibling.code, 0, viaSibling.stderr);
      if (!(await exists("/usr/bin/deno")) && !(await exists("/bin/deno"))) {
        const missing = await francis(["version"], noDeno);
        assert.equal(missing.code, 127);
        assert.match(missing.stderr, /deno not found/);
      }
    });

    await t.step("serve answers /readyz and healthcheck, and exits 0 on SIGTERM", async () => {
      await serveAndStop(francisEnv(env), app);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

function francisEnv(env: Record<string, string>): Record<string, string> {
  return {
    ...env,
    FRANCIS_RUNTIME_PSKS: PSK,
    FRANCIS_BOOTSTRAP_METHOD: "psk",
    FRANCIS_BOOTSTRAP_HOST_PSK: "bundle-host-psk-0123456789",
    FRANCIS_PROVIDER_CONNECTION_STRING: "memory",
  };
}

/** Reads a stream to its end into `lines`, splitting on newlines. */
async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (buffer + chunk).split("\n");
    buffer = parts.pop()!;
    lines.push(...parts);
  }
  if (buffer !== "") lines.push(buffer);
}

/** `work()`'s result, or `undefined` (and an aborted signal) after `ms`; leaves no timer behind. */
async function within<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
  const abort = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      abort.abort(new DOMException("timed out", "TimeoutError"));
      resolve(undefined);
    }, ms);
  });
  try {
    return await Promise.race([work(abort.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function serveAndStop(env: Record<string, string>, app: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const healthPort = freePort();
    const child = new Deno.Command("./francis", {
      args: ["serve", "--bind", "127.0.0.1:0", "--log-json"],
      cwd: app,
      env: { ...env, FRANCIS_HEALTH_BIND: `127.0.0.1:${healthPort}` },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out: string[] = [];
    const err: string[] = [];
    const reading = Promise.all([collect(child.stdout, out), collect(child.stderr, err)]);
    let exited: Deno.CommandStatus | undefined;
    const status = child.status.then((s) => (exited = s));
    const logs = () => [...out, ...err].join("\n");
    try {
      const deadline = Date.now() + 10_000;
      let address: string | undefined;
      let ready = false;
      while (!(ready && address !== undefined) && exited === undefined) {
        assert.ok(Date.now() < deadline, `serve not ready within 10 s:\n${logs()}`);
        try {
          const res = await within(1_000, (signal) => fetch(`http://127.0.0.1:${healthPort}/readyz`, { signal }));
          await res?.body?.cancel();
          ready = res?.status === 200;
        } catch { /* not listening yet */ }
        for (const line of out) {
          if (!line.startsWith("{")) continue;
          const record = JSON.parse(line) as { msg?: string; address?: string };
          if (record.msg === "Runtime listening") address = record.address;
        }
        if (!(ready && address !== undefined)) await new Promise((r) => setTimeout(r, 50));
      }
      if (exited !== undefined) {
        await reading;
        // Someone else took the health port between freePort() and serve: try another.
        if (attempt < 3 && /in use|AddrInUse/i.test(logs())) continue;
        assert.fail(`serve exited early (${exited.code}):\n${logs()}`);
      }

      const healthy = await run("./francis", ["healthcheck", "--address", address!, "--timeout", "5s"], {
        cwd: app,
        env: { ...env },
        timeoutMs: 15_000,
        clearEnv: true,
      });
      assert.equal(healthy.code, 0, healthy.stderr);

      child.kill("SIGTERM");
      const stopped = await within(10_000, () => status);
      assert.ok(stopped !== undefined, `serve did not stop within 10 s of SIGTERM:\n${logs()}`);
      await reading;
      assert.equal(stopped.code, 0, logs());
      assert.ok(out.some((l) => l.includes('"Runtime stopped"')), logs());
      return;
    } finally {
      if (exited === undefined) {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
      await status;
      await reading;
    }
  }
}

Deno.test("compile: a DENORT_BIN that is not a file fails at once with a clear message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-compile-" });
  try {
    const started = performance.now();
    const r = await run(
      Deno.execPath(),
      ["run", ...COMPILE_TASK_PERMISSIONS, join(SCRIPTS, "compile.ts"), "--output", join(dir, "francis")],
      { env: { DENORT_BIN: join(dir, "no-such-denort"), NO_COLOR: "1" }, timeoutMs: 30_000 },
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cannot get the Deno runtime base binary \(denort/);
    assert.match(r.stderr, /DENORT_BIN=.*no-such-denort is not a file/);
    assert.match(r.stderr, /deno task bundle/);
    assert.ok(!(await exists(join(dir, "francis"))), "no executable is left behind");
    assert.ok(performance.now() - started < 20_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Building for real needs denort, which nothing supplies offline (docs/PACKAGING.md):
// run only when DENORT_BIN is set or the denort zip is already in DENO_DIR.
const denortAvailable = Boolean(Deno.env.get("DENORT_BIN")) ||
  await exists((await denortLocations()).cachePath);

Deno.test({
  name: "compile: the executable runs the CLI (needs DENORT_BIN or the cached denort zip)",
  ignore: !denortAvailable,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "francis-compile-" });
    try {
      const output = join(dir, "francis");
      const r = await run(
        Deno.execPath(),
        ["run", ...COMPILE_TASK_PERMISSIONS, join(SCRIPTS, "compile.ts"), "--output", output],
        { timeoutMs: 300_000 },
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const version = await run(output, ["version"], { cwd: dir, env: { NO_COLOR: "1" }, timeoutMs: 15_000 });
      assert.equal(version.code, 0, version.stderr);
      assert.match(version.stdout, /^francis \d+\.\d+\.\d+(-[\w.]+)? \(deno \d+\.\d+\.\d+\)\n$/);
      const ca = await run(output, ["print-ca"], {
        cwd: dir,
        env: { FRANCIS_RUNTIME_PSKS: PSK },
        timeoutMs: 15_000,
        clearEnv: true,
      });
      assert.equal(ca.code, 0, ca.stderr);
      assert.equal(ca.stdout, await deriveClusterCaPem(PSK));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
