/**
 * The runtime CLI (API.md §19.3) as a function: parse the command line, run
 * the command, and map failures to exit codes: 0 success, 1 failure (or
 * unhealthy), 64 usage error, 78 configuration error (stderr names the key
 * path and where the value came from). `main.ts` calls it and exits.
 *
 * @module
 */

import process from "node:process";
import { ConfigError } from "../errors.ts";
import { errorMessage } from "../_internal/logger.ts";
import { COMMANDS, helpText, parseCommandLine, UsageError } from "./cli_args.ts";
import { type CliIo, EXIT, healthcheck, printCa, serve } from "./cli_commands.ts";
import { envVarName } from "./config_layers.ts";
import { versionLine } from "./version.ts";

export type { CliIo } from "./cli_commands.ts";
export { EXIT } from "./cli_commands.ts";

const FLAG_OF_PATH: Readonly<Record<string, string>> = {
  bind: "--bind",
  "log.level": "--log-level",
  "log.json": "--log-json",
  config: "--config",
};

function write(stream: "stdout" | "stderr", text: string): void {
  if (text === "") return;
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) {
    process[stream].write(text);
    return;
  }
  const bytes = new TextEncoder().encode(text);
  const target = stream === "stdout" ? deno.stdout : deno.stderr;
  for (let at = 0; at < bytes.length;) at += target.writeSync(bytes.subarray(at));
}

function onSignal(handler: (signal: string) => void): () => void {
  const subscribed: ["SIGINT" | "SIGTERM", () => void][] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const listener = () => handler(signal);
    try {
      process.on(signal, listener);
      subscribed.push([signal, listener]);
    } catch { /* SIGTERM is not available on Windows */ }
  }
  return () => {
    for (const [signal, listener] of subscribed) process.off(signal, listener);
  };
}

/**
 * The process's own streams, environment, working directory and signals.
 *
 * @example
 * ```ts
 * import { processIo } from "./cli.ts";
 * processIo().stdout("hello\n");
 * ```
 */
export function processIo(): CliIo {
  return {
    stdout: (text) => write("stdout", text),
    stderr: (text) => write("stderr", text),
    env: undefined,
    cwd: undefined,
    onSignal,
    exit: (code) => process.exit(code),
  };
}

/** Where a bad configuration value came from, for the stderr line. */
function origin(err: ConfigError): string {
  if (err.path === "" || err.path === "config" || err.message.includes(" is required (")) return "";
  if (err.source === "env") return ` (from ${envVarName(err.path)})`;
  if (err.source === "flag") return ` (from ${FLAG_OF_PATH[err.path] ?? "a flag"})`;
  return " (from the configuration file)";
}

/**
 * Runs the CLI with `argv` (the arguments after the script) and returns the exit code.
 *
 * @param argv E.g. `["healthcheck", "--timeout", "2s"]`.
 * @param io Streams, environment and signals. @default {processIo()}
 * @returns 0, 1, 64 or 78.
 *
 * @example
 * ```ts
 * import { processIo, runCli } from "./cli.ts";
 * let out = "";
 * const code = await runCli(["version"], { ...processIo(), stdout: (t) => (out += t) });
 * console.log(code, out.startsWith("francis ")); // 0 true
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let command = "serve";
  try {
    const parsed = parseCommandLine(argv);
    command = parsed.command;
    if (command === "help" || parsed.flags.get("help") === "true") {
      const general = command === "help" || argv[0] === undefined || argv[0].startsWith("-");
      io.stdout(helpText(general ? undefined : command));
      return EXIT.ok;
    }
    switch (command) {
      case "version":
        io.stdout(`${versionLine()}\n`);
        return EXIT.ok;
      case "backup":
      case "restore":
        io.stderr(`francis: ${command} is not available yet\n`);
        return EXIT.failure;
      case "healthcheck":
        return await healthcheck(parsed.flags, io);
      case "print-ca":
        return await printCa(parsed.flags, io);
      default:
        return await serve(parsed.flags, io);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      const help = Object.hasOwn(COMMANDS, argv[0] ?? "") ? ` ${argv[0]}` : "";
      io.stderr(`francis: ${err.message}\nRun "francis${help} --help" for usage.\n`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      io.stderr(`francis: ${err.message}${origin(err)}\n`);
      return EXIT.config;
    }
    io.stderr(`francis: ${command} failed: ${errorMessage(err)}\n`);
    return EXIT.failure;
  }
}
