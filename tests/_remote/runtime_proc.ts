/**
 * A runtime as a real OS process (`runtime/main.ts serve --config …`), ready
 * once its HTTP readiness endpoint answers 200.
 */

import { freePort } from "../_cluster/harness.ts";
import { waitFor } from "../../testing/wait_for.ts";

const MAIN = new URL("../../runtime/main.ts", import.meta.url).pathname;

/** What one runtime process is configured with (a YAML file is written for it). */
export interface RuntimeProcessConfig {
  psk: string;
  hostPsk: string;
  connectionString: string;
  port?: number;
  extraYaml?: string;
}

/** One runtime process. */
export class RuntimeProcess {
  readonly port: number;
  readonly healthPort: number;
  readonly configPath: string;
  #proc: Deno.ChildProcess;
  output = "";
  readonly exited: Promise<Deno.CommandStatus>;

  private constructor(configPath: string, port: number, healthPort: number) {
    this.configPath = configPath;
    this.port = port;
    this.healthPort = healthPort;
    this.#proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MAIN, "serve", "--config", configPath],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const collect = (s: ReadableStream<Uint8Array>) =>
      s.pipeThrough(new TextDecoderStream()).pipeTo(
        new WritableStream({ write: (c) => void (this.output = (this.output + c).slice(-20_000)) }),
      ).catch(() => {});
    collect(this.#proc.stdout);
    collect(this.#proc.stderr);
    this.exited = this.#proc.status;
  }

  /** Writes the config file and starts the process (it is ready when `ready()` resolves). */
  static async start(dir: string, c: RuntimeProcessConfig): Promise<RuntimeProcess> {
    const port = c.port ?? freePort();
    const healthPort = freePort();
    const configPath = `${dir}/runtime-${port}.yaml`;
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
      ].join("\n"),
    );
    return new RuntimeProcess(configPath, port, healthPort);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Resolves once `/readyz` answers 200. */
  async ready(timeoutMs = 20_000): Promise<void> {
    let exited = false;
    this.exited.then(() => exited = true);
    await waitFor(async () => {
      if (exited) throw new Error(`runtime exited before it was ready:\n${this.output}`);
      try {
        const res = await fetch(`http://127.0.0.1:${this.healthPort}/readyz`);
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false;
      }
    }, { what: "the runtime to be ready", timeoutMs, intervalMs: 25 });
  }

  kill(signal: Deno.Signal): void {
    try {
      this.#proc.kill(signal);
    } catch { /* gone */ }
  }

  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
  }
}
