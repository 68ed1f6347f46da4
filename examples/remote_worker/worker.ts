/**
 * One worker of the remote worker example: a stateless `RemoteHost` that
 * joins a Francis runtime with the host PSK, trusts only the cluster CA
 * printed by `print-ca` (pinned from a file), and serves a durable `counter`
 * and a `greeter` whose replies name the worker that ran them. Placement,
 * state and alarms live in the runtime; calls between workers go directly
 * over mutual-TLS peer links.
 *
 * `main.ts` starts two of these; you can also start them by hand against a
 * runtime started from `config.yaml` (see the README):
 *
 *     deno run -A runtime/main.ts print-ca --config examples/remote_worker/config.yaml > cluster-ca.pem
 *     export FRANCIS_HOST_PSK=demo-only-host-psk-change-me
 *     deno run -A examples/remote_worker/worker.ts --name worker-a --ca cluster-ca.pem
 *
 * Options (flag, else environment variable, else default):
 *
 * | flag         | environment                  | default                              |
 * | ------------ | ---------------------------- | ------------------------------------ |
 * | `--name`     | `FRANCIS_WORKER_NAME`        | `worker-<pid>`                       |
 * | `--port`     | `PORT`                       | `0` (any free port) for peer links   |
 * | `--runtime`  | `FRANCIS_RUNTIME_ADDRESSES`  | `127.0.0.1:7400` (comma-separated)   |
 * | `--ca`       | `FRANCIS_PINNED_CA_FILE`     | `cluster-ca.pem`                     |
 * |              | `FRANCIS_HOST_PSK`           | required, ≥ 16 bytes                 |
 *
 * The host PSK is read from the environment only, so it never shows in `ps`.
 * Once joined, the worker prints `ready: <name> listening on <address> (…)`,
 * then answers calls written to its stdin as JSON lines, e.g.
 * `{"id":1,"type":"greeter","actorId":"alice","method":"hello"}` (see
 * `protocol.ts`). SIGTERM, SIGINT or the end of stdin stop it gracefully: it
 * drains, halts its actors, unregisters and exits with 0.
 *
 * @module
 */

import type { ActorService, Logger } from "../../mod.ts";
import { RemoteHost } from "../../host_remote/mod.ts";
import {
  type CallRequest,
  type CallResponse,
  type CounterReply,
  type GreeterReply,
  readLines,
  readyLine,
} from "./protocol.ts";

// ---- Options ----------------------------------------------------------------

function option(flag: string, envVar?: string): string | undefined {
  const i = Deno.args.indexOf(`--${flag}`);
  if (i >= 0 && Deno.args[i + 1] !== undefined) return Deno.args[i + 1];
  const inline = Deno.args.find((a) => a.startsWith(`--${flag}=`));
  if (inline !== undefined) return inline.slice(flag.length + 3);
  return envVar === undefined ? undefined : Deno.env.get(envVar);
}

const name = option("name", "FRANCIS_WORKER_NAME") ?? `worker-${Deno.pid}`;
const port = Number(option("port", "PORT") ?? 0);
const runtimeAddresses = (option("runtime", "FRANCIS_RUNTIME_ADDRESSES") ?? "127.0.0.1:7400")
  .split(",").map((a) => a.trim()).filter((a) => a !== "");
const caFile = option("ca", "FRANCIS_PINNED_CA_FILE") ?? "cluster-ca.pem";
const hostPsk = Deno.env.get("FRANCIS_HOST_PSK");
if (hostPsk === undefined || hostPsk === "") {
  console.error(`${name}: set FRANCIS_HOST_PSK to the runtime's bootstrap.hostPsk`);
  Deno.exit(2);
}
let pinnedCa: string;
try {
  pinnedCa = await Deno.readTextFile(caFile);
} catch (err) {
  console.error(`${name}: cannot read the pinned CA ${caFile} (from \`print-ca\`): ${err}`);
  Deno.exit(2);
}

// ---- Actors -----------------------------------------------------------------

/** A counter whose value lives in the runtime's store, so it survives its worker and the runtime. */
class Counter {
  #state;
  constructor(id: string, service: ActorService) {
    this.#state = service.client<{ n: number }>("counter", id, { initialState: () => ({ n: 0 }) });
  }
  async invoke(method: string): Promise<CounterReply> {
    const s = await this.#state.getState();
    if (method === "increment") {
      s.n++;
      await this.#state.setState(s);
    } else if (method !== "get") throw new Error(`Unknown method "${method}"`);
    return { n: s.n, worker: name };
  }
}

/** Says hello, and from which worker. Keeps no state. */
class Greeter {
  #id;
  constructor(id: string) {
    this.#id = id;
  }
  invoke(method: string): GreeterReply {
    if (method !== "hello") throw new Error(`Unknown method "${method}"`);
    return { text: `Hello, ${this.#id}! Greetings from ${name}.`, worker: name };
  }
}

// ---- Host -------------------------------------------------------------------

/** Warnings and errors go to stderr, tagged with the worker's name; the rest is dropped. */
const logger: Logger = {
  debug() {},
  info() {},
  warn: (msg, attrs) => console.error(`[${name}] warn: ${msg}`, attrs ? JSON.stringify(attrs) : ""),
  error: (msg, attrs) => console.error(`[${name}] error: ${msg}`, attrs ? JSON.stringify(attrs) : ""),
};

const host = new RemoteHost({
  address: `127.0.0.1:${port}`,
  runtimeAddresses,
  bootstrap: { psk: hostPsk },
  pinnedCa,
  logger,
});
host.registerActor("counter", (id, service) => new Counter(id, service));
host.registerActor("greeter", (id) => new Greeter(id));

let stopping: Promise<void> | undefined;
function stop(): Promise<void> {
  return stopping ??= host.stop().then(
    () => {
      console.log(`stopped: ${name}`);
      Deno.exit(0);
    },
    (err) => {
      console.error(`[${name}] error: cannot stop cleanly: ${err}`);
      Deno.exit(1);
    },
  );
}
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
host.closed.catch((err) => {
  if (stopping !== undefined) return;
  console.error(`[${name}] error: the worker stopped by itself: ${err}`);
  Deno.exit(1);
});

try {
  // Unreachable runtimes are retried with backoff; a rejected credential or an unpinned runtime CA fails at once.
  await host.start({ signal: AbortSignal.timeout(30_000) });
} catch (err) {
  console.error(`[${name}] error: cannot join the runtime at ${runtimeAddresses.join(", ")}: ${err}`);
  Deno.exit(1);
}
console.log(readyLine(name, host.address, host.hostId));

// ---- Calls from stdin -------------------------------------------------------

const encoder = new TextEncoder();
const reply = (res: CallResponse) => Deno.stdout.writeSync(encoder.encode(JSON.stringify(res) + "\n"));

async function call(req: CallRequest): Promise<void> {
  const started = performance.now();
  try {
    const ok = req.op === "hostId"
      ? host.hostId
      : await host.service.invoke(req.type ?? "", req.actorId ?? "", req.method ?? "");
    reply({ id: req.id, ok: ok ?? null, ms: performance.now() - started });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ id: req.id, error: { name: e.name, message: e.message } });
  }
}

for await (const line of readLines(Deno.stdin.readable)) {
  if (line.trim() === "") continue;
  let req: CallRequest;
  try {
    req = JSON.parse(line);
  } catch {
    console.error(`[${name}] warn: ignoring a line that is not JSON: ${line}`);
    continue;
  }
  call(req); // concurrently: answers carry the request's id
}
await stop(); // stdin closed: the launcher is gone, so stop rather than linger
