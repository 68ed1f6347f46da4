/**
 * `deno task bundle`: builds the runtime as one JavaScript file plus a POSIX
 * sh launcher, for machines where `deno compile` cannot get its base binary
 * (see docs/PACKAGING.md):
 *
 * - `dist/runtime.js`: `deno bundle --platform deno` of `runtime/main.ts`,
 *   every dependency inlined (npm packages included), stamped with the version;
 * - `dist/francis`: runs `deno run <permissions> runtime.js "$@"` with the
 *   Deno found in `$DENO`, next to the script, or on `PATH`.
 *
 * Copy both files anywhere; they need only a `deno` binary. The first build
 * may fetch esbuild from npm (cached in `DENO_DIR` afterwards).
 *
 * ```sh
 * deno task bundle [--out-dir dist]
 * ```
 *
 * @module
 */

import { resolve } from "node:path";
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

/** Flags of every `deno run` of the bundle: no project config, no fetching, no prompts. */
export const BUNDLE_RUN_FLAGS: readonly string[] = Object.freeze([
  "--no-config",
  "--no-remote",
  "--no-npm",
  "--no-prompt",
  ...RUNTIME_PERMISSIONS,
]);

/** What {@linkcode buildBundle} produced. */
export interface BundleResult {
  /** Absolute path of `runtime.js`. */
  runtimeJs: string;
  /** Absolute path of the `francis` launcher. */
  launcher: string;
  /** Size of `runtime.js` in bytes. */
  bytes: number;
  /** Wall time of `deno bundle`, in milliseconds. */
  bundleMs: number;
  /** The version stamped on the bundle. */
  version: string;
}

/** The launcher script for `version`. */
export function launcherScript(version: string): string {
  return `#!/bin/sh
# francis ${version} launcher: runs runtime.js (next to this script) with Deno.
# Deno is $DENO if set, else a "deno" next to this script, else "deno" on PATH.
# Built by "deno task bundle" (scripts/bundle.ts); see docs/PACKAGING.md.
self=$0
while [ -h "$self" ]; do
  link=$(readlink "$self")
  case $link in
    /*) self=$link ;;
    *) self=$(dirname "$self")/$link ;;
  esac
done
here=$(CDPATH= cd -- "$(dirname -- "$self")" && pwd -P) || exit 1
if [ -n "\${DENO:-}" ]; then
  deno=$DENO
  if ! command -v "$deno" >/dev/null 2>&1; then
    echo "francis: DENO=$deno is not an executable" >&2
    exit 127
  fi
elif [ -x "$here/deno" ]; then
  deno=$here/deno
elif ! deno=$(command -v deno 2>/dev/null); then
  echo "francis: deno not found: put it on PATH or next to this script, or set DENO=/path/to/deno" >&2
  exit 127
fi
exec "$deno" run ${BUNDLE_RUN_FLAGS.join(" ")} "$here/runtime.js" "$@"
`;
}

/** The lines put before the bundled code (replacing the entry point's shebang). */
function header(version: string): string {
  return [
    `#!/usr/bin/env -S deno run ${BUNDLE_RUN_FLAGS.join(" ")}`,
    `// @francis/core runtime ${version}: single-file bundle of runtime/main.ts`,
    `// (deno bundle --platform deno, Deno ${Deno.version.deno}). Run it with the "francis" launcher next to it.`,
    "",
  ].join("\n");
}

/**
 * Builds `runtime.js` and the `francis` launcher into `outDir`, then checks
 * that the bundle prints `francis <version>`.
 *
 * @param options.outDir Output folder (created). @default {"<repo>/dist"}
 * @param options.timeoutMs Bound on `deno bundle` (the first run downloads esbuild). @default {120_000}
 * @throws {Error} When bundling fails or the bundle does not print its version.
 */
export async function buildBundle(options: { outDir?: string; timeoutMs?: number } = {}): Promise<BundleResult> {
  const version = await checkedVersion();
  const outDir = options.outDir ?? `${ROOT}/dist`;
  await Deno.mkdir(outDir, { recursive: true });
  const runtimeJs = `${outDir}/runtime.js`;
  const launcher = `${outDir}/francis`;
  const raw = `${outDir}/.runtime.${crypto.randomUUID()}.tmp.js`; // deno bundle post-processes only .js outputs
  try {
    const started = performance.now();
    const bundled = await run(
      Deno.execPath(),
      ["bundle", "--quiet", "--platform", "deno", "--output", raw, ENTRY],
      { cwd: ROOT, env: { NO_COLOR: "1" }, timeoutMs: options.timeoutMs ?? 120_000 },
    );
    const bundleMs = performance.now() - started;
    if (bundled.timedOut) throw new Error(`deno bundle did not finish within ${options.timeoutMs ?? 120_000} ms`);
    if (bundled.code !== 0) throw new Error(`deno bundle failed (exit ${bundled.code}):\n${plain(bundled.stderr)}`);
    const code = (await Deno.readTextFile(raw)).replace(/^#![^\n]*\n/, "");
    await Deno.writeTextFile(raw, header(version) + code);
    await Deno.rename(raw, runtimeJs);
    await Deno.writeTextFile(launcher, launcherScript(version));
    await Deno.chmod(launcher, 0o755);
    const check = await run(Deno.execPath(), ["run", ...BUNDLE_RUN_FLAGS, runtimeJs, "version"], {
      cwd: outDir,
      env: { NO_COLOR: "1" },
      timeoutMs: 30_000,
    });
    if (check.code !== 0 || !check.stdout.startsWith(`francis ${version} (`)) {
      throw new Error(`the bundle does not run: "version" exited ${check.code}: ${check.stdout}${check.stderr}`);
    }
    return { runtimeJs, launcher, bytes: (await Deno.stat(runtimeJs)).size, bundleMs, version };
  } finally {
    await Deno.remove(raw).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    const outDir = flagValue(Deno.args, "out-dir");
    const r = await buildBundle({ outDir: outDir === undefined ? undefined : resolve(outDir) });
    const rel = (p: string) => p.startsWith(`${Deno.cwd()}/`) ? p.slice(Deno.cwd().length + 1) : p;
    console.log(
      `francis ${r.version}: ${rel(r.runtimeJs)} (${formatBytes(r.bytes)}, bundled in ${Math.round(r.bundleMs)} ms)` +
        ` + launcher ${rel(r.launcher)}\nRun: ${rel(r.launcher)} --help`,
    );
  } catch (err) {
    console.error(`bundle: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
