/**
 * One host of the local cluster example: a `LocalHost` on PostgreSQL with a
 * durable `counter` and a `greeter` whose replies name the host that ran
 * them. Hosts sharing the database, the table prefix and the PSK form one
 * cluster and forward calls to each other over mutual TLS.
 *
 * `main.ts` starts three of these; you can also start them by hand, each in
 * its own terminal:
 *
 *     export FRANCIS_PSK=$(deno eval 'import { generatePsk } from "./mod.ts"; console.log(generatePsk())')
 *     deno run -A examples/local_cluster/host.ts --name host-a --port 7571
 *     deno run -A examples/local_cluster/host.ts --name host-b --port 7572
 *
 * Options (flag, else environment variable, else default):
 *
 * | flag       | environment                  | default                                        |
 * | ---------- | ---------------------------- | ---------------------------------------------- |
 * | `--name`   | `FRANCIS_HOST_NAME`          | `host-<pid>`                                   |
 * | `--port`   | `PORT`                       | `0` (any free port)                            |
 * | `--db`     | `FRANCIS_DEMO_POSTGRES_URL`  | `postgres://postgres@127.0.0.1:5432/postgres`  |
 * | `--psk`    | `FRANCIS_PSK` (preferred)    | required, ≥ 32 bytes, the same on every host   |
 * | `--prefix` |                              | `francis_cluster_demo`                         |
 *
 * Once started it prints `ready: <name> listening on <address> (…)`, then
 * answers calls written to its stdin as JSON lines, e.g.
 * `{"id":1,"type":"greeter","actorId":"alice","method":"hello"}` (see
 * `protocol.ts`). SIGTERM, SIGINT or the end of stdin stop it gracefully.
 *
 * @module
 */

import { type ActorService, LocalHost, type Logger } from "../../mod.ts";
import { createPostgresProvider } from "../../providers/postgres/mod.ts";
import {
  type CallRequest,
  type CallResponse,
  type CounterReply,
  DEFAULT_TABLE_PREFIX,
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

const name = option("name", "FRANCIS_HOST_NAME") ?? `host-${Deno.pid}`;
const port = Number(option("port", "PORT") ?? 0);
const url = option("db", "FRANCIS_DEMO_POSTGRES_URL") ?? "postgres://postgres@127.0.0.1:5432/postgres";
const psk = option("psk", "FRANCIS_PSK");
const tablePrefix = option("prefix") ?? DEFAULT_TABLE_PREFIX;
if (psk === undefined) {
  console.error(`${name}: set FRANCIS_PSK (or --psk) to the cluster's pre-shared key, the same on every host`);
  Deno.exit(2);
}

// ---- Actors -----------------------------------------------------------------

/** A counter whose value lives in PostgreSQL, so it survives its host. */
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
    return { n: s.n, host: name };
  }
}

/** Says hello, and from where. Keeps no state. */
class Greeter {
  #id;
  constructor(id: string) {
    this.#id = id;
  }
  invoke(method: string): GreeterReply {
    if (method !== "hello") throw new Error(`Unknown method "${method}"`);
    return { text: `Hello, ${this.#id}! Greetings from ${name}.`, host: name };
  }
}

// ---- Host -------------------------------------------------------------------

/** Warnings and errors go to stderr, tagged with the host's name; the rest is dropped. */
const logger: Logger = {
  debug() {},
  info() {},
  warn: (msg, attrs) => console.error(`[${name}] warn: ${msg}`, attrs ? JSON.stringify(attrs) : ""),
  error: (msg, attrs) => console.error(`[${name}] error: ${msg}`, attrs ? JSON.stringify(attrs) : ""),
};

const host = new LocalHost({
  address: `127.0.0.1:${port}`,
  runtimePsks: [psk],
  provider: createPostgresProvider({ url, tablePrefix }),
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
  // The host stopped by itself (e.g. it lost the database for longer than its health-check deadline).
  console.error(`[${name}] error: the host stopped by itself: ${err}`);
  Deno.exit(1);
});

await host.start();
console.log(readyLine(name, host.address, host.hostId));

// ---- Calls from stdin -------------------------------------------------------

const encoder = new TextEncoder();
const reply = (res: CallResponse) => Deno.stdout.writeSync(encoder.encode(JSON.stringify(res) + "\n"));

async function call(req: CallRequest): Promise<void> {
  const started = performance.now();
  try {
    const ok = await host.service.invoke(req.type, req.actorId, req.method, req.data);
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
