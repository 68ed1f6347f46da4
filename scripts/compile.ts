/**
 * `deno task compile`: `deno compile` of `runtime/main.ts` into one
 * executable, `dist/francis`, with the runtime's permissions baked in.
 *
 * `deno compile` needs the Deno runtime base binary (`denort`) for this Deno
 * version and platform. It takes, in order: `$DENORT_BIN`, the cached
 * `$DENO_DIR/dl/release/v<deno>/denort-<target>.zip`, or a download from
 * dl.deno.land (cached afterwards). Without any of them this script fails
 * within seconds with a message saying so, instead of letting the build hang
 * (see docs/PACKAGING.md). The whole compile is bounded too.
 *
 * ```sh
 * deno task compile [--output dist/francis]
 * ```
 *
 * Environment: `DENORT_BIN` (path to `denort`), `FRANCIS_COMPILE_TIMEOUT`
 * (seconds for `deno compile`, default 600), `FRANCIS_DENORT_PROBE_TIMEOUT`
 * (seconds for the dl.deno.land reachability check, default 15).
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import {
  checkedVersion,
  ENTRY,
  flagValue,
  formatBytes,
  plain,
  ROOT,
  run,
  RUNTIME_PERMISSIONS,
} from "./_runtime_build.ts";

/** Where `deno compile` gets `denort` from, or why it cannot. */
export type BaseBinary =
  | { source: "DENORT_BIN"; path: string }
  | { source: "cache"; path: string }
  | { source: "download"; url: string }
  | { source: "none"; reason: string };

/** The download URL and cache path of `denort` for the running Deno. */
export async function denortLocations(): Promise<{ url: string; cachePath: string }> {
  const zip = `denort-${Deno.build.target}.zip`;
  const release = `v${Deno.version.deno}`;
  let denoDir = Deno.env.get("DENO_DIR");
  if (denoDir === undefined || denoDir === "") {
    const info = await run(Deno.execPath(), ["info", "--json"], { timeoutMs: 30_000 });
    denoDir = (JSON.parse(info.stdout) as { denoDir: string }).denoDir;
  }
  return {
    url: `https://dl.deno.land/release/${release}/${zip}`,
    cachePath: `${denoDir}/dl/release/${release}/${zip}`,
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Finds where `deno compile` would get `denort`, probing dl.deno.land for at most `probeMs`. */
export async function findBaseBinary(probeMs: number): Promise<BaseBinary> {
  const { url, cachePath } = await denortLocations();
  const fromEnv = Deno.env.get("DENORT_BIN");
  if (fromEnv !== undefined && fromEnv !== "") {
    if (await isFile(fromEnv)) return { source: "DENORT_BIN", path: fromEnv };
    return { source: "none", reason: `DENORT_BIN=${fromEnv} is not a file` };
  }
  if (await isFile(cachePath)) return { source: "cache", path: cachePath };
  try {
    const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(probeMs) });
    await res.body?.cancel();
    if (res.ok) return { source: "download", url };
    return { source: "none", reason: `${url} answered HTTP ${res.status}` };
  } catch (err) {
    const why = err instanceof DOMException && err.name === "TimeoutError"
      ? `no answer within ${probeMs / 1000} s`
      : err instanceof Error
      ? (err.cause instanceof Error
        ? err.cause.message.replace(/^error sending request for url \([^)]*\): /, "")
        : err.message)
      : String(err);
    return { source: "none", reason: `${url} is unreachable (${why})` };
  }
}

async function noBaseBinaryMessage(reason: string): Promise<string> {
  const { url, cachePath } = await denortLocations();
  return [
    `cannot get the Deno runtime base binary (denort ${Deno.version.deno}, ${Deno.build.target}): ${reason}.`,
    "deno compile needs it; provide one of:",
    `  - network access to dl.deno.land (downloaded once, then cached in ${cachePath});`,
    `  - that cache file, copied from a machine that has it or downloaded from ${url};`,
    "  - DENORT_BIN=/path/to/denort (the binary inside that zip; the full deno binary does not work).",
    'Without them, ship the bundle instead: "deno task bundle" (see docs/PACKAGING.md).',
  ].join("\n");
}

/** What {@linkcode compileRuntime} produced. */
export interface CompileResult {
  output: string;
  bytes: number;
  compileMs: number;
  base: BaseBinary;
  versionLine: string;
}

/**
 * Compiles the runtime to `output` and checks that it prints `francis <version>`.
 *
 * @throws {Error} Within `probeMs` when `denort` cannot be had; when `deno compile`
 * fails or exceeds `timeoutMs`; when the executable does not run the CLI.
 */
export async function compileRuntime(
  options: { output?: string; timeoutMs?: number; probeMs?: number } = {},
): Promise<CompileResult> {
  const version = await checkedVersion();
  const output = options.output ?? `${ROOT}/dist/francis`;
  const timeoutMs = options.timeoutMs ?? 600_000;
  const base = await findBaseBinary(options.probeMs ?? 15_000);
  if (base.source === "none") throw new Error(await noBaseBinaryMessage(base.reason));
  await Deno.mkdir(dirname(output), { recursive: true });
  const tmp = `${output}.${crypto.randomUUID()}.tmp`;
  try {
    const started = performance.now();
    const compiled = await run(
      Deno.execPath(),
      ["compile", ...RUNTIME_PERMISSIONS, "--output", tmp, ENTRY],
      { cwd: ROOT, env: { NO_COLOR: "1" }, timeoutMs },
    );
    const compileMs = performance.now() - started;
    if (compiled.timedOut) {
      throw new Error(`deno compile did not finish within ${timeoutMs / 1000} s (set FRANCIS_COMPILE_TIMEOUT)`);
    }
    if (compiled.code !== 0) {
      const detail = plain(compiled.stderr).trim();
      if (/Setting up base binary|dl\.deno\.land|denort/.test(detail)) {
        throw new Error(`${await noBaseBinaryMessage("deno compile could not set it up")}\n\n${detail}`);
      }
      throw new Error(`deno compile failed (exit ${compiled.code}):\n${detail}`);
    }
    const check = await run(tmp, ["version"], { env: { NO_COLOR: "1" }, timeoutMs: 30_000 });
    if (check.code !== 0 || !check.stdout.startsWith(`francis ${version} (`)) {
      const got = plain(check.stdout + check.stderr).trim().split("\n")[0];
      const hint = base.source === "DENORT_BIN" ? ` DENORT_BIN must be denort, not the full deno binary.` : "";
      throw new Error(`the compiled executable does not run the francis CLI ("version" gave: ${got}).${hint}`);
    }
    await Deno.rename(tmp, output);
    return { output, bytes: (await Deno.stat(output)).size, compileMs, base, versionLine: check.stdout.trim() };
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

function seconds(name: string, fallback: number): number {
  const raw = Deno.env.get(name);
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number of seconds`);
  return value * 1000;
}

if (import.meta.main) {
  try {
    const out = flagValue(Deno.args, "output");
    const r = await compileRuntime({
      output: out === undefined ? undefined : resolve(out),
      timeoutMs: seconds("FRANCIS_COMPILE_TIMEOUT", 600),
      probeMs: seconds("FRANCIS_DENORT_PROBE_TIMEOUT", 15),
    });
    const rel = r.output.startsWith(`${Deno.cwd()}/`) ? r.output.slice(Deno.cwd().length + 1) : r.output;
    console.log(
      `${r.versionLine}: ${rel} (${formatBytes(r.bytes)}, compiled in ${(r.compileMs / 1000).toFixed(1)} s, ` +
        `denort from ${r.base.source})`,
    );
  } catch (err) {
    console.error(`compile: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
