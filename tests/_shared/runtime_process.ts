/**
 * A runtime as a real OS process: the CLI, `deno run -A runtime/main.ts serve
 * --config <file>`, on a YAML file written for it (default settings except
 * `log.level: warn`), ready once its `/readyz` answers 200.
 *
 * @module
 */

import { collectText, freePort, signalProcess, spawnDeno, stopProcess } from "./processes.ts";

const MAIN = new URL("../../runtime/main.ts", import.meta.url).pathname;

/** What one runtime process is configured with. */
export interface RuntimeProcessConfig {
  /** Directory for the config file. */
  dir: string;
  /** Runtime PSK (the cluster CA is derived from it). */
  psk: string;
  /** Host bootstrap PSK. */
  hostPsk: string;
  /** `provider.connectionString`: a PostgreSQL URL or a SQLite path. */
  connectionString: string;
  /** Worker port; a free one when absent. */
  port?: number;
  /** More YAML lines, e.g. `transport: webtransport`. */
  extraYaml?: string;
  /** `deno run` flags before the script, e.g. `--unstable-net`. */
  denoFlags?: string[];
  /** `dispose()` sends SIGTERM and waits this long before SIGKILL; 0: SIGKILL at once. @default {0} */
  stopGraceMs?: number;
}

/** One runtime process. */
export class RuntimeProcess {
  /** Worker port. */
  readonly port: number;
  /** `/readyz` port. */
  readonly healthPort: number;
  /** The YAML file it was started on. */
  readonly configPath: string;
  /** OS process ID. */
  readonly pid: number;
  /** Resolves when the process exited. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** The last 20,000 characters of stdout + stderr. */
  output = "";
  readonly #proc: Deno.ChildProcess;
  readonly #stopGraceMs: number;

  private constructor(c: RuntimeProcessConfig, configPath: string, port: number, healthPort: number) {
    this.configPath = configPath;
    this.port = port;
    this.healthPort = healthPort;
    this.#stopGraceMs = c.stopGraceMs ?? 0;
    this.#proc = spawnDeno([...c.denoFlags ?? [], MAIN, "serve", "--config", configPath], {}, "null");
    this.pid = this.#proc.pid;
    const keep = (text: string) => void (this.output = (this.output + text).slice(-20_000));
    collectText(this.#proc.stdout, keep);
    collectText(this.#proc.stderr, keep);
    this.exited = this.#proc.status;
  }

  /** Writes the config file and starts the process; await {@linkcode RuntimeProcess.ready}. */
  static async start(c: RuntimeProcessConfig): Promise<RuntimeProcess> {
    const port = c.port ?? freePort();
    const healthPort = freePort();
    const configPath = `${c.dir}/runtime-${port}-${healthPort}.yaml`;
    await Deno.writeTextFile(
      configPath,
      [
        `bind: 127.0.0.1:${port}`,
        `healthBind: 127.0.0.1:${healthPort}`,
        `runtimePsks: [${JSON.stringify(c.psk)}]`,
        `bootstrap: { method: psk, hostPsk: ${JSON.stringify(c.hostPsk)} }`,
        `provider: { connectionString: ${JSON.stringify(c.connectionString)} }`,
        `log: { level: warn }`,
        c.extraYaml ?? "",
      ].join("\n") + "\n",
    );
    return new RuntimeProcess(c, configPath, port, healthPort);
  }

  /** `127.0.0.1:<port>`, what workers dial. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once `/readyz` answers 200 (polled every `intervalMs`); rejects if the process exits first. */
  async ready(timeoutMs = 30_000, intervalMs = 10): Promise<void> {
    let exited = false;
    this.exited.then(() => exited = true);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exited) throw new Error(`runtime exited before it was ready:\n${this.output}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`);
        await res.body?.cancel();
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() >= deadline) throw new Error(`runtime not ready after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  /** Sends a signal (SIGKILL: the crash, SIGTERM: the graceful stop); ignored when already gone. */
  kill(signal: Deno.Signal): void {
    signalProcess(this.#proc, signal);
  }

  /** Stops the process if still running (see `stopGraceMs`) and reaps it. */
  async dispose(): Promise<void> {
    await stopProcess(this.#proc, this.#stopGraceMs);
  }
}
