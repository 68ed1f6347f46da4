#!/usr/bin/env -S deno run -A
/**
 * The runtime CLI entry point (API.md §19.3):
 *
 * ```sh
 * deno run -A runtime/main.ts [serve|healthcheck|print-ca|version|help] [flags]
 * ```
 *
 * `serve` is the default command. Run any command with `--help` for its
 * flags. Exit codes: 0 success, 1 failure or unhealthy, 64 usage error,
 * 78 configuration error.
 *
 * @module
 */

import process from "node:process";
import { runCli } from "./cli.ts";

if (import.meta.main) {
  process.exit(await runCli(process.argv.slice(2)));
}
