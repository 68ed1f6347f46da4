/**
 * What `scripts/bundle.ts` and `scripts/compile.ts` share: the repository
 * root, the permissions the runtime runs with, the checked version, and a
 * bounded subprocess runner.
 *
 * @module
 */

import { FRANCIS_VERSION } from "../runtime/version.ts";

/** The repository root (the folder holding `deno.json`). */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** The runtime CLI entry point. */
export const ENTRY: string = `${ROOT}/runtime/main.ts`;

/**
 * The permissions the runtime needs, baked into the launcher and the compiled
 * binary: listeners and the provider (net), the config file and SQLite
 * (read, write), `FRANCIS_*` (env), and `node:os` calls of the drivers (sys).
 */
export const RUNTIME_PERMISSIONS: readonly string[] = Object.freeze([
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-sys",
]);

/**
 * The version to stamp on the output: `FRANCIS_VERSION`, after checking that
 * it equals the `version` of `deno.json`.
 *
 * @throws {Error} When they differ.
 */
export async function checkedVersion(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)) as { version?: string };
  if (config.version !== FRANCIS_VERSION) {
    throw new Error(
      `runtime/version.ts says ${FRANCIS_VERSION} but deno.json says ${config.version}; make them equal first`,
    );
  }
  return FRANCIS_VERSION;
}

/** The result of {@linkcode run}. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * Runs a command to completion, killing it (SIGKILL) after `timeoutMs`.
 * stdin is closed, so nothing can wait for input. A relative `command`
 * (`./francis`) is resolved against `cwd`.
 */
export async function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean; timeoutMs: number },
): Promise<RunResult> {
  const child = new Deno.Command(command, {
    args: [...args],
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, options.timeoutMs);
  try {
    const out = await child.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr), timedOut };
  } finally {
    clearTimeout(timer);
  }
}

/** `1.9 MB`-style size. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${bytes} B`;
}

/** Strips ANSI colour codes (Deno's own messages are coloured). */
export function plain(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** `--flag value` / `--flag=value` from `args`, or `undefined`. */
export function flagValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === `--${name}`) return args[i + 1];
    if (arg.startsWith(`--${name}=`)) return arg.slice(name.length + 3);
  }
  return undefined;
}
