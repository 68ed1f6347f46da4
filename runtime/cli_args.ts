/**
 * Command-line parsing of the runtime CLI (API.md §19.3): the command, then
 * `--flag value`, `--flag=value` or a bare boolean `--flag`. Anything
 * unknown, a missing value or a stray argument is a {@linkcode UsageError}
 * (exit code 64).
 *
 * @module
 */

/** A flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `"log-level"`. */
  readonly name: string;
  /** Whether the flag takes a value (`--timeout 5s`); otherwise it is a boolean (`--verbose`, `--verbose=false`). */
  readonly value: boolean;
  /** Help text. */
  readonly help: string;
}

/**
 * A command-line mistake: the CLI prints it with a hint and exits with 64.
 *
 * @example
 * ```ts
 * import { parseFlags, UsageError } from "./cli_args.ts";
 * try {
 *   parseFlags(["--bnd"], []);
 * } catch (err) {
 *   console.log(err instanceof UsageError, (err as Error).message); // true unknown flag --bnd
 * }
 * ```
 */
export class UsageError extends Error {
  /** @param message What is wrong, e.g. `unknown flag --bnd`. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Parsed flags: the value of each flag given (booleans as `"true"`/`"false"`), last one winning. */
export type ParsedFlags = Map<string, string>;

const BOOL = /^(true|false)$/;

/**
 * Parses flags against `specs`. `--help`/`-h` is always accepted (as `help`).
 *
 * @param args Arguments after the command.
 * @param specs Accepted flags.
 * @returns The flags given.
 * @throws {UsageError} For an unknown flag, a missing or malformed value, or a positional argument.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./cli_args.ts";
 * const flags = parseFlags(["--bind=127.0.0.1:0", "--log-json"], [
 *   { name: "bind", value: true, help: "" },
 *   { name: "log-json", value: false, help: "" },
 * ]);
 * console.log(flags.get("bind"), flags.get("log-json")); // 127.0.0.1:0 true
 * ```
 */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const flags: ParsedFlags = new Map();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg !== "string") throw new UsageError(`arguments must be strings`);
    if (arg === "-h" || arg === "--help") {
      flags.set("help", "true");
      continue;
    }
    if (!arg.startsWith("--") || arg === "--") {
      throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    }
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) throw new UsageError(`unknown flag --${name}`);
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else if (!spec.value) value = "true";
    else if (i + 1 < args.length && !args[i + 1].startsWith("--")) value = args[++i];
    else throw new UsageError(`flag --${name} needs a value`);
    if (!spec.value && !BOOL.test(value)) {
      throw new UsageError(`flag --${name} takes true or false (got ${JSON.stringify(value)})`);
    }
    flags.set(name, value);
  }
  return flags;
}

/** Flags every command that reads configuration accepts. */
export const CONFIG_FLAG: FlagSpec = Object.freeze({
  name: "config",
  value: true,
  help: "configuration file (default: $FRANCIS_CONFIG, else ./config.yaml if present)",
});

/** The flags of `serve`, which override the configuration. */
export const SERVE_FLAGS: readonly FlagSpec[] = Object.freeze([
  CONFIG_FLAG,
  { name: "bind", value: true, help: "worker endpoint host:port (config bind, default 0.0.0.0:7400)" },
  { name: "log-level", value: true, help: "debug, info, warn or error (config log.level, default info)" },
  { name: "log-json", value: false, help: "log JSON lines instead of text (config log.json)" },
]);

/** The flags of `healthcheck`. */
export const HEALTHCHECK_FLAGS: readonly FlagSpec[] = Object.freeze([
  CONFIG_FLAG,
  { name: "address", value: true, help: "runtime host:port (default 127.0.0.1:<port of bind>)" },
  { name: "timeout", value: true, help: "give up after this long, e.g. 5s or 1500ms (default 5s)" },
  { name: "insecure-skip-verify", value: false, help: "do not verify the runtime certificate" },
  { name: "verbose", value: false, help: "describe each step on stderr" },
]);

/** The commands and the flags each accepts. */
export const COMMANDS: Readonly<Record<string, { flags: readonly FlagSpec[]; summary: string }>> = Object.freeze({
  serve: { flags: SERVE_FLAGS, summary: "run the runtime until SIGINT/SIGTERM (default command)" },
  healthcheck: { flags: HEALTHCHECK_FLAGS, summary: "probe a running runtime; exit 0 when healthy and ready" },
  "print-ca": {
    flags: [CONFIG_FLAG, {
      name: "webtransport-hash",
      value: false,
      help: "print instead the SHA-256 (hex) of the runtime WebTransport certificate of each PSK, one per line",
    }],
    summary: "print the cluster CA PEM of every runtimePsks entry, in order",
  },
  backup: { flags: [], summary: "snapshot the store (not available yet)" },
  restore: { flags: [], summary: "load a snapshot into the store (not available yet)" },
  version: { flags: [CONFIG_FLAG], summary: "print the version" },
  help: { flags: [], summary: "print this help" },
});

/** The parsed command line. */
export interface CommandLine {
  command: string;
  flags: ParsedFlags;
}

/**
 * Splits `argv` into the command (`serve` when the first argument is a flag or
 * absent) and its flags.
 *
 * @throws {UsageError} For an unknown command or any flag error.
 *
 * @example
 * ```ts
 * import { parseCommandLine } from "./cli_args.ts";
 * const cl = parseCommandLine(["healthcheck", "--timeout", "2s"]);
 * console.log(cl.command, cl.flags.get("timeout")); // healthcheck 2s
 * console.log(parseCommandLine(["--bind", "127.0.0.1:0"]).command); // serve
 * ```
 */
export function parseCommandLine(argv: readonly string[]): CommandLine {
  const first = argv[0];
  const explicit = first !== undefined && !first.startsWith("-");
  const command = explicit ? first : "serve";
  const spec = COMMANDS[command];
  if (spec === undefined || !Object.hasOwn(COMMANDS, command)) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
  // backup/restore are not implemented: accept anything so they can report that.
  if (command === "backup" || command === "restore") return { command, flags: new Map() };
  return { command, flags: parseFlags(explicit ? argv.slice(1) : argv, spec.flags) };
}

/**
 * The help text of one command, or of the CLI when `command` is undefined.
 *
 * @example
 * ```ts
 * import { helpText } from "./cli_args.ts";
 * console.log(helpText("print-ca").startsWith("Usage: francis print-ca")); // true
 * ```
 */
export function helpText(command?: string): string {
  const spec = command === undefined ? undefined : COMMANDS[command];
  if (spec === undefined) {
    const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
    return [
      "Usage: francis [command] [flags]",
      "",
      "Commands:",
      ...rows,
      "",
      "Every command accepts --help. Configuration: flag > file > FRANCIS_* environment > default.",
      "Exit codes: 0 ok, 1 failure, 64 usage error, 78 configuration error.",
    ].join("\n") + "\n";
  }
  const flags = [...spec.flags, { name: "help", value: false, help: "print this help" }].map((f) =>
    `  --${f.name}${f.value ? " <value>" : ""}`.padEnd(30) + ` ${f.help}`
  );
  return [`Usage: francis ${command} [flags]`, "", spec.summary, "", "Flags:", ...flags].join("\n") + "\n";
}
