/**
 * The runtime CLI commands (API.md §19.3): `serve`, `healthcheck` and
 * `print-ca`. Each returns its exit code; configuration and usage errors are
 * thrown (`ConfigError`, `UsageError`) and mapped to 78 and 64 by `cli.ts`.
 *
 * @module
 */

import { parseAddress } from "../_internal/address.ts";
import { errorMessage } from "../_internal/logger.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { InvalidValue } from "./_checks.ts";
import { type ParsedFlags, UsageError } from "./cli_args.ts";
import { loadRuntimeConfig, readConfigSources } from "./config.ts";
import { parseDuration } from "./duration.ts";
import { probeRuntime } from "./healthcheck.ts";
import { createRuntimeLogger } from "./logger.ts";
import { RUNTIME_DEFAULTS } from "./options.ts";
import { startRuntime } from "./runtime.ts";

/** What a command reads and writes. */
export interface CliIo {
  /** Writes to stdout as is. */
  stdout(text: string): void;
  /** Writes to stderr as is. */
  stderr(text: string): void;
  /** The environment (`undefined`: the process environment). */
  env: Record<string, string | undefined> | undefined;
  /** The working directory (`undefined`: the process one). */
  cwd: string | undefined;
  /** Subscribes to SIGINT and SIGTERM; returns the unsubscribe function. */
  onSignal(handler: (signal: string) => void): () => void;
  /** Ends the process at once (a second signal during `serve`). */
  exit(code: number): void;
}

/** Exit codes (API.md §19.3). */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 64, config: 78 });

/** Flags that feed the configuration, rebuilt as arguments for `loadRuntimeConfig`. */
function configArgs(flags: ParsedFlags): string[] {
  const args: string[] = [];
  for (const name of ["config", "bind", "log-level", "log-json"]) {
    const value = flags.get(name);
    if (value !== undefined) args.push(`--${name}=${value}`);
  }
  return args;
}

/**
 * `serve`: loads the configuration, starts the runtime and stops it gracefully
 * on SIGINT or SIGTERM (a second signal exits at once with 1).
 *
 * @example
 * ```ts ignore
 * import { processIo } from "./cli.ts";
 * import { serve } from "./cli_commands.ts";
 * Deno.exit(await serve(new Map([["bind", "127.0.0.1:7400"]]), processIo()));
 * ```
 */
export async function serve(flags: ParsedFlags, io: CliIo): Promise<number> {
  const options = await loadRuntimeConfig({ args: configArgs(flags), env: io.env, cwd: io.cwd });
  const logger = createRuntimeLogger(options.log);
  options.logger = logger;
  let runtime;
  try {
    runtime = await startRuntime(options);
  } catch (err) {
    logger.error("Runtime failed to start", { err: errorMessage(err) });
    return EXIT.failure;
  }
  let signals = 0;
  const off = io.onSignal((signal) => {
    signals++;
    if (signals > 1) {
      logger.warn("Second signal: exiting without waiting", { signal });
      io.exit(EXIT.failure);
    }
    logger.info("Stopping runtime", { signal });
    runtime.stop().catch((err) => logger.error("Runtime stop failed", { err: errorMessage(err) }));
  });
  try {
    await runtime.closed;
    logger.info("Runtime stopped");
    return EXIT.ok;
  } catch (err) {
    logger.error("Runtime stopped with an error", { err: errorMessage(err) });
    return EXIT.failure;
  } finally {
    off();
  }
}

/**
 * `healthcheck`: probes the runtime at `--address` (default `127.0.0.1:<port of bind>`).
 *
 * @example
 * ```ts
 * import { processIo } from "./cli.ts";
 * import { healthcheck } from "./cli_commands.ts";
 * const flags = new Map([["address", "127.0.0.1:1"], ["timeout", "1s"], ["insecure-skip-verify", "true"]]);
 * const code = await healthcheck(flags, { ...processIo(), env: {}, stderr: () => {} });
 * console.log(code); // 1
 * ```
 */
export async function healthcheck(flags: ParsedFlags, io: CliIo): Promise<number> {
  let timeoutMs = 5_000;
  const timeout = flags.get("timeout");
  if (timeout !== undefined) {
    try {
      timeoutMs = parseDuration(timeout);
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      throw new UsageError(`--timeout ${err.reason}`);
    }
  }
  const insecure = flags.get("insecure-skip-verify") === "true";
  const verbose = flags.get("verbose") === "true";
  const { merged } = await readConfigSources({ args: configArgs(flags), env: io.env, cwd: io.cwd });
  const psks = (insecure ? merged.get("runtimePsks") ?? [] : merged.require("runtimePsks")) as string[];
  let address = flags.get("address");
  if (address === undefined) {
    const bind = (merged.get("bind") ?? RUNTIME_DEFAULTS.bind) as string;
    const port = parseAddress(bind, "healthcheck", "bind").port;
    if (port === 0) throw new UsageError("--address is required when bind uses port 0");
    address = `127.0.0.1:${port}`;
  } else {
    try {
      if (parseAddress(address, "healthcheck", "--address").port === 0) throw new TypeError("port 0");
    } catch {
      throw new UsageError(`--address must be "host:port" with a non-zero port (got ${JSON.stringify(address)})`);
    }
  }
  const caPems = insecure ? [] : await Promise.all(psks.map((psk) => deriveClusterCaPem(psk)));
  const result = await probeRuntime({
    address,
    caPems,
    timeoutMs,
    insecureSkipVerify: insecure,
    onStep: verbose ? (line) => io.stderr(`healthcheck: ${line}\n`) : undefined,
  });
  if (result.healthy) {
    if (verbose) io.stdout(`healthy: runtime ${result.health?.runtimeId} at ${address}\n`);
    return EXIT.ok;
  }
  if (!verbose) io.stderr(`healthcheck: unhealthy: ${result.reason}\n`);
  return EXIT.failure;
}

/**
 * `print-ca`: writes the CA PEM of every `runtimePsks` entry, in order, to stdout.
 * With `--webtransport-hash`: the SHA-256 (hex) of the runtime WebTransport
 * certificate of every entry instead, one per line — what a WebTransport
 * worker pins (`runtimeCertificateHash`; the first line is the one served).
 *
 * @example
 * ```ts
 * import { processIo } from "./cli.ts";
 * import { printCa } from "./cli_commands.ts";
 * let out = "";
 * const env = { FRANCIS_RUNTIME_PSKS: "an-example-runtime-psk-of-32-bytes-or-more" };
 * const code = await printCa(new Map(), { ...processIo(), env, cwd: "/nonexistent-dir", stdout: (t) => (out += t) });
 * console.log(code, out.startsWith("-----BEGIN CERTIFICATE-----")); // 0 true
 * ```
 */
export async function printCa(flags: ParsedFlags, io: CliIo): Promise<number> {
  const { merged } = await readConfigSources({ args: configArgs(flags), env: io.env, cwd: io.cwd });
  const psks = merged.require("runtimePsks") as string[];
  if (flags.get("webtransport-hash") === "true") {
    const { deriveRuntimeWtCertificateHash } = await import("./_wt_certificate.ts");
    const hashes = await Promise.all(psks.map((psk) => deriveRuntimeWtCertificateHash(psk)));
    io.stdout(hashes.map((h) => `${h}\n`).join(""));
    return EXIT.ok;
  }
  const pems = await Promise.all(psks.map((psk) => deriveClusterCaPem(psk)));
  io.stdout(pems.join(""));
  return EXIT.ok;
}
