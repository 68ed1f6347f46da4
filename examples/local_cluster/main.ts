/**
 * The Francis local cluster example: three `LocalHost` processes (`host.ts`)
 * sharing one PostgreSQL database, and a scripted tour that shows where
 * actors land, calls forwarded between hosts, one consistent counter behind
 * all three, and failover after `kill -9` of a host.
 *
 *     deno task demo:cluster                            # postgres://postgres@127.0.0.1:5432/postgres
 *     deno task demo:cluster --db postgres://u:p@db:5432/app   # or FRANCIS_DEMO_POSTGRES_URL=…
 *     deno task demo:cluster --keep                     # keep the francis_cluster_demo_* tables
 *     deno task demo:cluster --verbose                  # also show the hosts' warnings
 *
 * The tables are prefixed `francis_cluster_demo_` and dropped at the end
 * unless `--keep` is given; one run at a time may use them (a session
 * advisory lock). The cluster's PSK is `FRANCIS_PSK`, or a fresh one per run.
 *
 * @module
 */

import postgres from "postgres";
import { generatePsk } from "../../mod.ts";
import {
  type ActorReply,
  type CallResponse,
  type CounterReply,
  DEFAULT_TABLE_PREFIX,
  type GreeterReply,
  parseReadyLine,
  readLines,
} from "./protocol.ts";

const HOST_SCRIPT = new URL("./host.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/postgres";
const PREFIX = DEFAULT_TABLE_PREFIX;
const HOST_NAMES = ["host-a", "host-b", "host-c"];
const GREETERS = ["alice", "bob", "carol", "dave", "erin", "frank"];
const CALL_TIMEOUT_MS = 20_000;

// ---- Options ----------------------------------------------------------------

function dbUrl(): string {
  const i = Deno.args.indexOf("--db");
  if (i >= 0 && Deno.args[i + 1]) return Deno.args[i + 1];
  return Deno.env.get("FRANCIS_DEMO_POSTGRES_URL") ?? DEFAULT_URL;
}
const url = dbUrl();
const keep = Deno.args.includes("--keep");
const verbose = Deno.args.includes("--verbose");
const psk = Deno.env.get("FRANCIS_PSK") ?? generatePsk();

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

// ---- One host process -------------------------------------------------------

/** A `host.ts` child process, and calls made through it. */
class HostProcess {
  readonly name: string;
  readonly pid: number;
  address = "";
  readonly ready: Promise<void>;
  readonly exited: Promise<Deno.CommandStatus>;
  #log = "";
  readonly #proc: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #pending = new Map<number, (res: CallResponse) => void>();
  #nextId = 1;

  constructor(name: string) {
    this.name = name;
    const proc = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        CONFIG,
        "--allow-net",
        "--allow-env",
        HOST_SCRIPT,
        "--name",
        name,
        "--port",
        "0",
        "--db",
        url,
        "--prefix",
        PREFIX,
      ],
      env: { FRANCIS_PSK: psk, NO_COLOR: "1" },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#proc = proc;
    this.pid = proc.pid;
    this.#stdin = proc.stdin.getWriter();
    this.exited = proc.status;
    let onReady!: () => void, onFail!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => [onReady, onFail] = [resolve, reject]);
    this.ready.catch(() => {});
    (async () => {
      for await (const line of readLines(proc.stderr)) {
        this.#log += line + "\n";
        if (verbose) console.log(`      ${line}`);
      }
    })().catch(() => {});
    (async () => {
      for await (const line of readLines(proc.stdout)) {
        const ready = parseReadyLine(line);
        if (ready) {
          this.address = ready.address;
          onReady();
        } else if (line.startsWith("{")) {
          const res = JSON.parse(line) as CallResponse;
          this.#pending.get(res.id)?.(res);
          this.#pending.delete(res.id);
        }
      }
    })().catch(() => {}).finally(() => {
      onFail(new Error(`${name} exited before it was ready${this.#log ? `:\n${this.#log}` : ""}`));
      const gone = { name: "HostExited", message: `${name} exited` };
      for (const [id, settle] of this.#pending) settle({ id, error: gone });
      this.#pending.clear();
    });
  }

  /** Everything the host wrote to stderr. */
  get log(): string {
    return this.#log;
  }

  /** Calls an actor through this host: it runs here or is forwarded to its owner. */
  async call<T extends ActorReply>(type: string, actorId: string, method: string): Promise<{ reply: T; ms: number }> {
    const id = this.#nextId++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const res = await new Promise<CallResponse>((resolve) => {
      this.#pending.set(id, resolve);
      timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve({ id, error: { name: "Timeout", message: `no answer from ${this.name} in ${CALL_TIMEOUT_MS} ms` } });
      }, CALL_TIMEOUT_MS);
      const line = JSON.stringify({ id, type, actorId, method }) + "\n";
      this.#stdin.write(new TextEncoder().encode(line)).catch(() => {});
    }).finally(() => clearTimeout(timer));
    if ("error" in res) throw new Error(`${type}/${actorId} via ${this.name}: ${res.error.name}: ${res.error.message}`);
    return { reply: res.ok as T, ms: res.ms };
  }

  /** Sends a signal: SIGKILL is a crash, SIGTERM a graceful stop. */
  kill(signal: Deno.Signal): void {
    try {
      this.#proc.kill(signal);
    } catch { /* already exited */ }
  }

  /** Kills the process if it still runs, and reaps it. */
  async dispose(): Promise<void> {
    this.kill("SIGKILL");
    await this.exited;
    await this.#stdin.close().catch(() => {});
  }
}

// ---- The database -----------------------------------------------------------

const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
let tablesExisted: boolean;
let locked: boolean;
try {
  // One run at a time per database: a session lock, released by PostgreSQL even if this process dies.
  const [row] = await sql`SELECT to_regclass(${PREFIX + "_hosts"}) IS NOT NULL AS present,
    pg_try_advisory_lock(hashtextextended(${"francis-example:" + PREFIX}, 0)) AS locked`;
  tablesExisted = row.present;
  locked = row.locked;
} catch (err) {
  await sql.end({ timeout: 1 }).catch(() => {});
  console.error(`Cannot connect to PostgreSQL at ${redact(url)}: ${err instanceof Error ? err.message : err}

This example needs a PostgreSQL server (version 12 or newer). Point it at one with
    deno task demo:cluster --db postgres://user:password@host:5432/database
or set FRANCIS_DEMO_POSTGRES_URL. Or start a throwaway server first, e.g.
    docker run --rm -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`);
  Deno.exit(1);
}
if (!locked) {
  await sql.end({ timeout: 1 });
  console.error(`Another run of this example is using the tables ${PREFIX}_* in ${redact(url)}.
Wait for it to finish, or point this one at another database with --db <url>.`);
  Deno.exit(1);
}

/** Drops every table and function of the example's prefix (the triggers go with their tables). */
async function dropTables(): Promise<void> {
  const like = `${PREFIX}\\_%`;
  const tables = await sql`SELECT quote_ident(tablename) AS t FROM pg_tables
    WHERE schemaname = current_schema() AND tablename LIKE ${like}`;
  const functions = await sql`SELECT p.oid::regprocedure::text AS f FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema() AND p.proname LIKE ${like}`;
  await sql.begin(async (tx) => {
    await tx`SET LOCAL lock_timeout = '5s'`;
    if (tables.length > 0) await tx.unsafe(`DROP TABLE IF EXISTS ${tables.map((r) => r.t).join(", ")} CASCADE`);
    if (functions.length > 0) await tx.unsafe(`DROP FUNCTION IF EXISTS ${functions.map((r) => r.f).join(", ")}`);
  });
}

// ---- The tour ---------------------------------------------------------------

const hosts: HostProcess[] = [];
let interrupted = false;

/** Prints a line of the tour, unless Ctrl-C cut it short. */
function say(line = ""): void {
  if (!interrupted) console.log(line);
}

/** Where each actor lives, as reported by its replies. */
const owner = new Map<string, string>();

async function tour(): Promise<void> {
  say("Francis local cluster: three LocalHost processes sharing one PostgreSQL database");
  say(`   database ${redact(url)}, tables ${PREFIX}_*`);
  say(tablesExisted ? "   (reusing the tables of an earlier --keep run)\n" : "   (new tables)\n");

  // 1. Start.
  say("1. Starting three host processes (same database, same PSK, mutual-TLS links between them)");
  const t0 = performance.now();
  for (const name of HOST_NAMES) hosts.push(new HostProcess(name));
  await Promise.all(hosts.map((h) => h.ready));
  for (const h of hosts) say(`   ${h.name} ready on ${h.address}  (pid ${h.pid})`);
  say(`   all three ready after ${elapsed(t0)} ms\n`);
  const [a] = hosts;
  const byName = (name: string) => hosts.find((h) => h.name === name)!;

  // 2. Placement.
  say(`2. Placement: ${GREETERS.length} greeters, each first called through ${a.name}`);
  for (const id of GREETERS) {
    const { reply } = await a.call<GreeterReply>("greeter", id, "hello");
    owner.set(`greeter/${id}`, reply.host);
    say(`   greeter/${id.padEnd(6)} landed on ${reply.host}`);
  }
  const spread = HOST_NAMES.map((n) => `${n} ${[...owner.values()].filter((o) => o === n).length}`);
  say(`   spread: ${spread.join(", ")} (PostgreSQL places each new actor on the least-loaded host)\n`);

  // 3. Forwarding.
  const remote = GREETERS.find((id) => owner.get(`greeter/${id}`) !== a.name) ?? GREETERS[0];
  const home = owner.get(`greeter/${remote}`)!;
  say(`3. Forwarding: greeter/${remote} lives on ${home}; the same call through each host`);
  for (const h of hosts) {
    const { reply, ms } = await h.call<GreeterReply>("greeter", remote, "hello");
    const route = reply.host === h.name ? `local on ${reply.host}` : `forwarded ${h.name} → ${reply.host}`;
    say(`   via ${h.name}: ${route.padEnd(28)} "${reply.text}"  ${ms.toFixed(1)} ms`);
  }
  say("   (times measured inside the entry host; a first call between two hosts also opens their TLS link)\n");

  // 4. One counter behind all three hosts.
  const rounds = 3;
  const total = rounds * hosts.length;
  say(`4. One durable counter: ${total} increments of counter/visits, round robin through all three hosts`);
  const replies: CounterReply[] = [];
  for (let round = 1; round <= rounds; round++) {
    const parts: string[] = [];
    for (const h of hosts) {
      const { reply } = await h.call<CounterReply>("counter", "visits", "increment");
      replies.push(reply);
      parts.push(`via ${h.name} → ${String(reply.n).padStart(2)}`);
    }
    say(`   round ${round}: ${parts.join(",  ")}   (ran on ${replies.at(-1)!.host})`);
  }
  const first = replies[0].n;
  const ranOn = new Set(replies.map((r) => r.host));
  const inOrder = replies.every((r, i) => r.n === first + i);
  if (!inOrder || ranOn.size !== 1) {
    throw new Error(`the counter was not consistent: ${JSON.stringify(replies)}`);
  }
  const counterHome = replies[0].host;
  owner.set("counter/visits", counterHome);
  const last = replies.at(-1)!.n;
  say(
    `   consistent: ${total} increments through 3 hosts, ${first - 1} → ${last}, every one run by the single ` +
      `activation on ${counterHome}\n`,
  );

  // 5. Failover.
  const victim = byName(counterHome);
  const survivors = hosts.filter((h) => h !== victim);
  const moved = [...owner.entries()].filter(([, o]) => o === victim.name).map(([actor]) => actor);
  say(`5. Failover: SIGKILL ${victim.name} (pid ${victim.pid}), the home of ${moved.join(", ")}`);
  const killedAt = performance.now();
  victim.kill("SIGKILL");
  await victim.exited;
  const failures: string[] = [];
  const back = await Promise.all(moved.map(async (actor) => {
    const [type, id] = actor.split("/");
    for (let attempt = 0;; attempt++) {
      const via = survivors[attempt % survivors.length];
      try {
        const { reply } = await via.call<CounterReply | GreeterReply>(type, id, type === "counter" ? "get" : "hello");
        return { actor, reply, ms: elapsed(killedAt) };
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
        if (performance.now() - killedAt > 20_000) throw err;
        await sleep(25);
      }
    }
  }));
  const failover = Math.max(...back.map((b) => b.ms));
  for (const { actor, reply, ms } of back) {
    const extra = "n" in reply ? `, value still ${reply.n} (its state lives in PostgreSQL)` : "";
    say(`   ${actor.padEnd(15)} answers again on ${reply.host} after ${ms} ms${extra}`);
  }
  const { reply: after } = await survivors[0].call<CounterReply>("counter", "visits", "increment");
  say(`   counter/visits  increment via ${survivors[0].name} → ${after.n} (ran on ${after.host})`);
  say(
    `   failover: ${moved.length} actors of ${victim.name} answered on the survivors ${failover} ms after the SIGKILL`,
  );
  if (failures.length === 0) {
    say("   (no call failed: the survivors found the dead host's port closed, evicted it, and placed again)\n");
  } else {
    // Francis retries a failed call once by itself (API.md §12.2), except a TransportError: a call already sent on a
    // link that died has an unknown outcome. The probes here (get, hello) are read-only, so retrying them is safe.
    const kinds = [...new Set(failures.map((f) => f.replace(/^.*?: (\w+Error): .*$/s, "$1")))].join(", ");
    say(
      `   (${failures.length} call(s) failed with ${kinds} while the survivors detected the dead host; ` +
        `this script retried them)\n`,
    );
    if (verbose) { for (const f of new Set(failures)) say(`      ${f}`); }
  }

  // 6. Graceful stop.
  say(`6. Graceful stop: SIGTERM ${survivors.map((h) => h.name).join(" and ")}`);
  await Promise.all(survivors.map(async (h) => {
    const t = performance.now();
    h.kill("SIGTERM");
    const status = await h.exited;
    if (status.code !== 0) throw new Error(`${h.name} exited with code ${status.code}:\n${h.log}`);
    say(`   ${h.name} stopped cleanly in ${elapsed(t)} ms (drained, actors halted, unregistered)`);
  }));
}

async function cleanup(): Promise<void> {
  await Promise.all(hosts.map((h) => h.dispose()));
  console.log();
  if (keep) {
    console.log(`Kept the tables ${PREFIX}_* (run again without --keep to drop them).`);
  } else {
    await dropTables().then(
      () => console.log(`Dropped the tables ${PREFIX}_* (pass --keep to keep them).`),
      (err) => console.error(`Cannot drop the tables ${PREFIX}_*: ${err instanceof Error ? err.message : err}`),
    );
  }
  await sql.end({ timeout: 5 });
}

Deno.addSignalListener("SIGINT", () => {
  if (interrupted) return;
  interrupted = true;
  console.log("\nInterrupted: stopping the hosts…");
  // The hosts got the same SIGINT from the terminal; make sure, then clean up.
  for (const h of hosts) h.kill("SIGTERM");
  Promise.race([Promise.all(hosts.map((h) => h.exited)), sleep(10_000)])
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
  for (const h of hosts) if (h.log) console.error(`--- ${h.name} stderr ---\n${h.log}`);
}
await cleanup();
if (code === 0) console.log(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
Deno.exit(code);
