/**
 * Processes of the multi-process WebTransport test (`process_suite.ts`): a
 * runtime started by the real CLI (`runtime/main.ts serve --config`) and
 * RemoteHost workers (`worker.ts`), all with `--unstable-net`. Workers speak
 * the line protocol of `tests/_cluster/control.ts`; the runtime is ready
 * when its `/readyz` answers 200.
 */

import { freePort, LineProcess } from "../_shared/processes.ts";
import { RuntimeProcess } from "../_shared/runtime_process.ts";

const WORKER = new URL("./worker.ts", import.meta.url).pathname;

/** What a worker is told (JSON in `FRANCIS_CHILD`). */
export interface WtWorkerConfig {
  url: string;
  runtimes: string[];
  hostPsk: string;
  caPem: string;
  hash: string;
  requestTimeoutMs?: number;
}

/** Starts a worker process; it is ready (admitted over WebTransport, serving) when `ready` resolves. */
export function startWtWorker(config: WtWorkerConfig, label: string): LineProcess {
  const env = { FRANCIS_CHILD: JSON.stringify({ ...config, port: freePort(), label }) };
  return new LineProcess({ label, args: ["--unstable-net", WORKER], env });
}

/** Writes a runtime config (`transport: webtransport`), starts `runtime/main.ts serve` on it and waits until ready. */
export async function startWtRuntime(
  dir: string,
  c: { psk: string; hostPsk: string; connectionString: string; port?: number },
): Promise<RuntimeProcess> {
  const runtime = await RuntimeProcess.start({
    dir,
    ...c,
    extraYaml: "transport: webtransport",
    denoFlags: ["--unstable-net"],
  });
  try {
    await runtime.ready();
  } catch (err) {
    await runtime.dispose();
    throw err;
  }
  return runtime;
}
