/**
 * The Francis remote worker example: the standalone runtime started through
 * its real CLI (`runtime/main.ts`), two stateless `RemoteHost` workers
 * (`worker.ts`) that join it with the host PSK and pin the cluster CA printed
 * by `print-ca`, and a client-only `RemoteHost` in this process. The tour
 * shows calls through either worker landing on the actor's one worker, then
 * kills and restarts the runtime: the workers reconnect with their
 * certificates and the state is intact.
 *
 *     deno task demo:remote                               # SQLite in a temporary directory
 *     deno task demo:remote --db postgres://u:p@db:5432/app  # PostgreSQL instead (tables francis_*)
 *     deno task demo:remote --verbose                     # also show the runtime's log and the workers' warnings
 *
 * The runtime configuration is `config.yaml` of this folder, copied to a
 * temporary directory with fresh PSKs, free ports and the store; that
 * directory (and the SQLite file) is removed at the end.
 *
 * @module
 */

import { parseDocument } from "yaml";
import { generatePsk } from "../../mod.ts";
import { RemoteHost } from "../../host_remote/mod.ts";
import {
  type ActorReply,
  type CallResponse,
  type CounterReply,
  type GreeterReply,
  parseReadyLine,
  readLines,
} from "./protocol.ts";

const here = (path: string) => new URL(path, import.meta.url).pathname;
const RUNTIME_MAIN = here("../../runtime/main.ts");
const WORKER_SCRIPT = here("./worker.ts");
const CONFIG_TEMPLATE = here("./config.yaml");
const DENO_CONFIG = here("../../deno.json");
const WORKER_NAMES = ["worker-a", "worker-b"];
const GREETERS = ["alice", "bob", "carol", "dave"];
const CALL_TIMEOUT_MS = 20_000;

// ---- Options ----------------------------------------------------------------

function flag(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  if (i >= 0 && Deno.args[i + 1] !== undefined) return Deno.args[i + 1];
  return Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
const dbUrl = flag("db");
const verbose = Deno.args.includes("--verbose");

/** The URL with its password masked, for printing. */
function redact(u: string): string {
  try {
    const parsed = new URL(u);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return u;
  }
}

const started = performance.now();
const elapsed = (from: number) => Math.round(performance.now() - from);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Prints the arguments of a `deno run` the way a reader would type them. */
function shown(args: string[]): string {
  return ["deno", ...args].filter((a) => !a.startsWith("--config="))
    .map((a) => a.replace(dir, "$DEMO_DIR").replace(Deno.cwd() + "/", "")).join(" ");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

// ---- Child processes --------------------------------------------------------

/** A child process whose output lines are kept (and shown with `--verbose`). */
class Child {
  readonly label: string;
  readonly pid: number;
  readonly exited: Promise<Deno.CommandStatus>;
  log = "";
  protected readonly proc: Deno.ChildProcess;

  constructor(label: string, args: string[], env: Record<string, string>, stdin: "piped" | "null") {
    this.label = label;
    this.proc = new Deno.Command(Deno.execPath(), {
      args,
      env: { ...env, NO_COLOR: "1" },
      stdin,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.pid = this.proc.pid;
    this.exited = this.proc.status;
    this.#collect(this.proc.stderr);
  }

  #collect(stream: ReadableStream<Uint8Array>): Promise<void> {
    return (async () => {
      for await (const line of readLines(stream)) this.keep(line);
    })().catch(() => {});
  }

  protected keep(line: string): void {
    this.log += line + "\n";
    if (verbose) console.log(`      ${this.label} | ${line}`);
  }

  protected collectStdout(): Promise<void> {
    return this.#collect(this.proc.stdout);
  }

  /** Sends a signal: SIGKILL is a crash, SIGTERM a graceful stop. */
  kill(signal: Deno.Signal): void {
    try {
      this.proc.kill(signal);
    } catch { /* already exited */ }
  }

  /** Kills the process if it still runs, and reaps it. */
  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
  }
}

/** Runs the runtime CLI to completion: `deno run -A runtime/main.ts <args>`. */
async function runCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", `--config=${DENO_CONFIG}`, "-A", RUNTIME_MAIN, ...args],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** `runtime/main.ts serve --config <file>`: the runtime as its own process. */
class RuntimeProcess extends Child {
  readonly args: string[];

  constructor(configPath: string) {
    const args = ["run", `--config=${DENO_CONFIG}`, "-A", RUNTIME_MAIN, "serve", "--config", configPath];
    super("runtime", args, {}, "null");
    this.args = args;
    this.collectStdout(); // the runtime logs to stdout
  }

  /** Polls `GET /readyz` until it answers 200; fails if the process exits first. */
  async ready(healthAddress: string, timeoutMs = 20_000): Promise<number> {
    const t = performance.now();
    let exited = false;
    this.exited.then(() => exited = true);
    while (performance.now() - t < timeoutMs) {
      if (exited) throw new Error(`the runtime exited before it was ready (exit code ${(await this.exited).code})`);
      try {
        const res = await fetch(`http://${healthAddress}/readyz`);
        await res.body?.cancel();
        if (res.status === 200) return elapsed(t);
      } catch { /* not listening yet */ }
      await sleep(25);
    }
    throw new Error(`the runtime was not ready within ${timeoutMs} ms`);
  }
}

/** A `worker.ts` process, and calls made through it. */
class WorkerProcess extends Child {
  address = "";
  hostId = "";
  readonly ready: Promise<void>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, (res: CallResponse) => void>();
  #nextId = 1;

  constructor(name: string, runtimeAddress: string, caFile: string, hostPsk: string) {
    super(
      name,
      [
        "run",
        `--config=${DENO_CONFIG}`,
        "--allow-net",
        "--allow-env",
        `--allow-read=${caFile}`,
        WORKER_SCRIPT,
        "--name",
        name,
        "--runtime",
        runtimeAddress,
        "--ca",
        caFile,
      ],
      { FRANCIS_HOST_PSK: hostPsk },
      "piped",
    );
    this.#stdin = this.proc.stdin.getWriter();
    let onReady!: () => void, onFail!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => [onReady, onFail] = [resolve, reject]);
    this.ready.catch(() => {});
    (async () => {
      for await (const line of readLines(this.proc.stdout)) {
        const ready = parseReadyLine(line);
        if (ready) {
          this.address = ready.address;
          this.hostId = ready.hostId;
          onReady();
        } else if (line.startsWith("{")) {
          const res = JSON.parse(line) as CallResponse;
          this.#pending.get(res.id)?.(res);
          this.#pending.delete(res.id);
        }
      }
    })().catch(() => {}).finally(() => {
      onFail(new Error(`${name} exited before it was ready${this.log ? `:\n${this.log}` : ""}`));
      const gone = { name: "WorkerExited", message: `${name} exited` };
      for (const [id, settle] of this.#pending) settle({ id, error: gone });
      this.#pending.clear();
    });
  }

  #send(req: Record<string, unknown>): Promise<CallResponse> {
    const id = this.#nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new Promise<CallResponse>((resolve) => {
      this.#pending.set(id, resolve);
      timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ id, error: { name: "Timeout", message: `no answer from ${this.label} in ${CALL_TIMEOUT_MS} ms` } });
      }, CALL_TIMEOUT_MS);
      this.#stdin.write(new TextEncoder().encode(JSON.stringify({ id, ...req }) + "\n")).catch(() => {});
    }).finally(() => clearTimeout(timer));
  }

  /** Calls an actor through this worker: it runs here or is forwarded to its worker. */
  async call<T extends ActorReply>(type: string, actorId: string, method: string): Promise<{ reply: T; ms: number }> {
    const res = await this.#send({ op: "invoke", type, actorId, method });
    if ("error" in res) {
      throw new Error(`${type}/${actorId} via ${this.label}: ${res.error.name}: ${res.error.message}`);
    }
    return { reply: res.ok as T, ms: res.ms };
  }

  /** The host ID the worker has now (it would change after an identity reset). */
  async currentHostId(): Promise<string> {
    const res = await this.#send({ op: "hostId" });
    if ("error" in res) throw new Error(`${this.label}: ${res.error.message}`);
    return res.ok as string;
  }

  override async dispose(): Promise<void> {
    await super.dispose();
    await this.#stdin.close().catch(() => {});
  }
}

// ---- The tour ---------------------------------------------------------------

const dir = await Deno.makeTempDir({ prefix: "francis-remote-demo-" });
const configPath = `${dir}/config.yaml`;
const caPath = `${dir}/cluster-ca.pem`;
const runtimePort = freePort();
const healthPort = freePort();
const runtimeAddress = `127.0.0.1:${runtimePort}`;
const healthAddress = `127.0.0.1:${healthPort}`;
const hostPsk = generatePsk();
const connectionString = dbUrl ?? `sqlite:${dir}/francis-remote-demo.db`;

const children: Child[] = [];
let runtime: RuntimeProcess | undefined;
const workers: WorkerProcess[] = [];
let client: RemoteHost | undefined;
const clientWarnings: string[] = [];
let interrupted = false;

/** Prints a line of the tour, unless Ctrl-C cut it short. */
function say(line = ""): void {
  if (!interrupted) console.log(line);
}

/** `config.yaml` with fresh secrets, free ports and this run's store, written next to the CA file. */
async function writeConfig(): Promise<void> {
  const doc = parseDocument(await Deno.readTextFile(CONFIG_TEMPLATE));
  doc.setIn(["bind"], runtimeAddress);
  doc.setIn(["healthBind"], healthAddress);
  doc.setIn(["runtimePsks"], doc.createNode([generatePsk()], { flow: true }));
  doc.setIn(["bootstrap", "hostPsk"], hostPsk);
  doc.setIn(["provider", "connectionString"], connectionString);
  doc.setIn(["log", "level"], "info");
  await Deno.writeTextFile(configPath, doc.toString(), { mode: 0o600 });
}

async function fingerprint(pem: string): Promise<string> {
  const b64 = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":") + ":…";
}

function startRuntime(): RuntimeProcess {
  runtime = new RuntimeProcess(configPath);
  children.push(runtime);
  return runtime;
}

/** Retries a read-only call until it succeeds (while a runtime or a link comes back). */
async function until<T>(what: string, fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const t = performance.now();
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (performance.now() - t > timeoutMs) throw new Error(`${what}: ${err instanceof Error ? err.message : err}`);
      await sleep(50);
    }
  }
}

async function tour(): Promise<void> {
  say("Francis remote topology: one runtime process, two stateless workers, one client-only host");
  say(`   store: ${dbUrl === undefined ? `SQLite ${connectionString.slice(7)}` : `PostgreSQL ${redact(dbUrl)}`}`);
  await writeConfig();
  say(`   DEMO_DIR=${dir}`);
  say("   ($DEMO_DIR/config.yaml is this folder's config.yaml with fresh PSKs and free ports; removed at the end)\n");

  // 1. The cluster CA.
  say("1. The cluster CA, printed by the runtime CLI");
  const printArgs = ["print-ca", "--config", configPath];
  say(`   $ ${shown(["run", "-A", RUNTIME_MAIN, ...printArgs])} > $DEMO_DIR/cluster-ca.pem`);
  const printed = await runCli(...printArgs);
  if (printed.code !== 0) throw new Error(`print-ca exited with ${printed.code}: ${printed.stderr}`);
  await Deno.writeTextFile(caPath, printed.stdout);
  const cas = printed.stdout.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  say(`   cluster-ca.pem: ${cas} CA, SHA-256 ${await fingerprint(printed.stdout)}`);
  say("   (derived from the runtime PSK; the workers pin it and never see that PSK)\n");

  // 2. The runtime.
  say("2. Starting the runtime");
  const rt = startRuntime();
  say(`   $ ${shown(rt.args)}`);
  const readyMs = await rt.ready(healthAddress);
  say(`   GET http://${healthAddress}/readyz → 200 ready after ${readyMs} ms (pid ${rt.pid})`);
  const live = await fetch(`http://${healthAddress}/livez`);
  say(`   GET /livez → ${live.status} ${await live.text()}`);
  const checkArgs = ["healthcheck", "--config", configPath, "--verbose"];
  const check = await runCli(...checkArgs);
  const healthy = /^healthy: .*$/m.exec(check.stdout)?.[0] ?? check.stderr.trim();
  say(`   $ ${shown(["run", "-A", RUNTIME_MAIN, ...checkArgs])}`);
  say(`     exit ${check.code}, ${healthy}`);
  if (check.code !== 0) throw new Error(`healthcheck exited with ${check.code}: ${check.stderr}`);
  say(`   (healthcheck speaks TLS to ${runtimeAddress} and verifies the runtime certificate against the CA)\n`);

  // 3. Two workers.
  say("3. Starting two workers (RemoteHost: host PSK bootstrap, pinned CA, peer links between them)");
  const t3 = performance.now();
  for (const name of WORKER_NAMES) {
    const w = new WorkerProcess(name, runtimeAddress, caPath, hostPsk);
    workers.push(w);
    children.push(w);
  }
  await Promise.all(workers.map((w) => w.ready));
  for (const w of workers) say(`   ${w.label} joined as host ${w.hostId}, peers dial ${w.address} (pid ${w.pid})`);
  say(`   both joined after ${elapsed(t3)} ms\n`);
  const [a] = workers;
  const owner = new Map<string, string>();

  // 4. Placement and routing.
  say(`4. Placement: ${GREETERS.length} greeters, each first called through ${a.label}`);
  for (const id of GREETERS) {
    const { reply } = await a.call<GreeterReply>("greeter", id, "hello");
    owner.set(id, reply.worker);
    say(`   greeter/${id.padEnd(6)} landed on ${reply.worker}`);
  }
  const remote = GREETERS.find((id) => owner.get(id) !== a.label) ?? GREETERS[0];
  say(`   greeter/${remote} lives on ${owner.get(remote)}; the same call through each worker:`);
  for (const w of workers) {
    const { reply, ms } = await w.call<GreeterReply>("greeter", remote, "hello");
    const route = reply.worker === w.label ? `local on ${reply.worker}` : `forwarded ${w.label} → ${reply.worker}`;
    say(`   via ${w.label}: ${route.padEnd(32)} "${reply.text}"  ${ms.toFixed(1)} ms`);
  }
  say();

  // 5. One counter behind both workers.
  const rounds = 3;
  say(`5. One durable counter: ${rounds * workers.length} increments of counter/visits, alternating workers`);
  const replies: CounterReply[] = [];
  for (let round = 1; round <= rounds; round++) {
    const parts: string[] = [];
    for (const w of workers) {
      const { reply } = await w.call<CounterReply>("counter", "visits", "increment");
      replies.push(reply);
      parts.push(`via ${w.label} → ${String(reply.n).padStart(2)}`);
    }
    say(`   round ${round}: ${parts.join(",  ")}   (ran on ${replies.at(-1)!.worker})`);
  }
  const first = replies[0].n;
  const counterHome = replies[0].worker;
  if (!replies.every((r, i) => r.n === first + i && r.worker === counterHome)) {
    throw new Error(`the counter was not consistent: ${JSON.stringify(replies)}`);
  }
  say(
    `   consistent: ${replies.length} increments through ${workers.length} workers, ${first - 1} → ${
      replies.at(-1)!.n
    }, every one run by the single activation on ${counterHome}\n`,
  );

  // 6. A client-only host here.
  say("6. A client-only RemoteHost in this launcher process (no actors, no listener, never placed on)");
  client = new RemoteHost({
    clientOnly: true,
    runtimeAddresses: [runtimeAddress],
    bootstrap: { psk: hostPsk },
    pinnedCa: await Deno.readTextFile(caPath),
    logger: {
      debug() {},
      info() {},
      warn: (msg) => void clientWarnings.push(msg),
      error: (msg) => void clientWarnings.push(msg),
    },
  });
  await client.start({ signal: AbortSignal.timeout(20_000) });
  say(`   joined as host ${client.hostId}`);
  const hello = await client.service.invoke("greeter", remote, "hello") as GreeterReply;
  say(`   greeter/${remote}   → "${hello.text}" (ran on ${hello.worker})`);
  const viaClient = await client.service.invoke("counter", "visits", "increment") as CounterReply;
  say(`   counter/visits → increment → ${viaClient.n} (ran on ${viaClient.worker})\n`);
  if (hello.worker !== owner.get(remote) || viaClient.worker !== counterHome) {
    throw new Error("the client-only host's calls did not land on the actors' workers");
  }

  // 7. Runtime crash and restart.
  const old = runtime!;
  const idsBefore = workers.map((w) => w.hostId);
  say(`7. Runtime restart: SIGKILL the runtime (pid ${old.pid}), then start it again on the same port and store`);
  const killedAt = performance.now();
  old.kill("SIGKILL");
  await old.exited;
  say("   runtime killed; the workers and the client lose their session and retry with backoff");
  const fresh = startRuntime();
  await fresh.ready(healthAddress);
  say(`   runtime ready again ${elapsed(killedAt)} ms after the kill (pid ${fresh.pid})`);
  // A new greeter needs the runtime (placement); the call waits for the worker's session to come back.
  const back = await Promise.all(workers.map(async (w, i) => {
    const { reply } = await until(
      `${w.label} serving again`,
      () => w.call<GreeterReply>("greeter", `back-${i}`, "hello"),
    );
    return { w, ms: elapsed(killedAt), ran: reply.worker, id: await w.currentHostId() };
  }));
  for (const { w, ms, id } of back) {
    const same = id === idsBefore[workers.indexOf(w)];
    const lost = (w.log.match(/Lost the runtime session; reconnecting/g) ?? []).length;
    say(
      `   ${w.label} serving again ${ms} ms after the kill, ${same ? "same host ID" : `NEW host ID ${id}`}` +
        ` (reconnected with its certificate; it logged "Lost the runtime session" ${lost}×)`,
    );
    if (!same) throw new Error(`${w.label} got a new identity`);
  }
  const afterVia = await Promise.all(workers.map((w) => w.call<CounterReply>("counter", "visits", "get")));
  const afterClient = await until(
    "client-only host serving again",
    async () => await client!.service.invoke("counter", "visits", "get") as CounterReply,
  );
  const values = [...afterVia.map((r, i) => `via ${workers[i].label} → ${r.reply.n}`), `via client → ${afterClient.n}`];
  say(`   counter/visits get: ${values.join(", ")}`);
  const intact = [...afterVia.map((r) => r.reply.n), afterClient.n].every((n) => n === viaClient.n);
  if (!intact) throw new Error(`the counter changed across the restart (expected ${viaClient.n})`);
  const { reply: inc } = await workers[1].call<CounterReply>("counter", "visits", "increment");
  say(
    `   state intact: ${viaClient.n} before the kill, ${viaClient.n} after; increment → ${inc.n} (ran on ${inc.worker})`,
  );
  say();

  // 8. Graceful stop.
  say("8. Graceful stop: the client-only host, SIGTERM to the workers, then to the runtime");
  await client.stop();
  client = undefined;
  say("   client-only host stopped");
  await Promise.all(workers.map(async (w) => {
    const t = performance.now();
    w.kill("SIGTERM");
    const status = await w.exited;
    if (status.code !== 0) throw new Error(`${w.label} exited with code ${status.code}:\n${w.log}`);
    say(`   ${w.label} stopped cleanly in ${elapsed(t)} ms (drained, actors halted, unregistered), exit 0`);
  }));
  const t8 = performance.now();
  fresh.kill("SIGTERM");
  const status = await fresh.exited;
  if (status.code !== 0) throw new Error(`the runtime exited with code ${status.code}:\n${fresh.log}`);
  if (!fresh.log.includes("Runtime stopped")) throw new Error(`the runtime did not log its stop:\n${fresh.log}`);
  say(`   runtime stopped cleanly in ${elapsed(t8)} ms ("Runtime stopped"), exit 0`);
}

async function cleanup(): Promise<void> {
  await client?.stop().catch(() => {});
  await Promise.all(children.map((c) => c.dispose()));
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

Deno.addSignalListener("SIGINT", () => {
  if (interrupted) return;
  interrupted = true;
  console.log("\nInterrupted: stopping…");
  for (const c of children) c.kill("SIGTERM");
  Promise.race([Promise.all(children.map((c) => c.exited)), sleep(10_000)])
    .then(cleanup)
    .finally(() => Deno.exit(130));
});

let code = 0;
try {
  await tour();
} catch (err) {
  if (interrupted) await new Promise(() => {}); // the SIGINT handler exits
  code = 1;
  console.error(`\nThe tour failed: ${err instanceof Error ? err.message : err}`);
  if (dbUrl !== undefined && runtime?.log.includes("Runtime failed to start")) {
    console.error(`Is PostgreSQL reachable at ${redact(dbUrl)}? (--db postgres://user:password@host:5432/database)`);
  }
  for (const c of children) if (c.log) console.error(`--- ${c.label} (pid ${c.pid}) output ---\n${c.log}`);
  if (clientWarnings.length > 0) console.error(`--- client-only host ---\n${clientWarnings.join("\n")}`);
}
await cleanup();
if (code === 0) {
  if (dbUrl !== undefined) say(`\nThe tables francis_* stay in ${redact(dbUrl)} (the counter continues next run).`);
  say(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
}
Deno.exit(code);
