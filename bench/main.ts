/**
 * `deno task bench`: runs the benchmark scenarios, prints a table and writes
 * JSON (default `bench/results.json`).
 *
 * ```sh
 * deno task bench                      # every scenario, full size
 * deno task bench --only a,c           # a subset, by letter or key
 * deno task bench --quick --out /tmp/r.json
 * ```
 *
 * @module
 */

import { renderTable, type ScenarioOptions, type ScenarioResult } from "./_stats.ts";
import * as a from "./a_invoke.ts";
import * as b from "./b_sqlite_writes.ts";
import * as c from "./c_activations.ts";
import * as d from "./d_alarms.ts";
import * as e from "./e_alarm_rss.ts";
import * as f from "./f_cross_host_invoke.ts";
import * as g from "./g_postgres_writes.ts";
import * as h from "./h_failover.ts";
import * as i from "./i_postgres_activations.ts";
import * as j from "./j_worker_invoke.ts";
import * as k from "./k_runtime_restart.ts";
import * as l from "./l_idle_workers.ts";
import * as m from "./m_jobs.ts";
import * as n from "./n_streams.ts";

interface Scenario {
  key: string;
  title: string;
  run(options: ScenarioOptions): Promise<ScenarioResult>;
}

/** Every scenario, in run order; `--only` matches the key or its first letter. */
export const SCENARIOS: readonly Scenario[] = [
  { key: "a_invoke", title: "invoke on an active in-memory actor", run: a.run },
  { key: "b_sqlite_writes", title: "invoke + setState on on-disk SQLite", run: b.run },
  { key: "c_activations", title: "new activations, memory and SQLite", run: c.run },
  { key: "d_alarms", title: "10,000 alarms due within one second, SQLite", run: d.run },
  { key: "e_alarm_rss", title: "RSS with 1,000,000 far-future alarms stored", run: e.run },
  { key: "f_cross_host_invoke", title: "cross-host invoke over mutual TLS, two processes", run: f.run },
  { key: "g_postgres_writes", title: "invoke + setState, 1,000 actors on three hosts, PostgreSQL", run: g.run },
  { key: "h_failover", title: "failover after SIGKILL of a host, PostgreSQL, default settings", run: h.run },
  { key: "i_postgres_activations", title: "new activations across three hosts, PostgreSQL", run: i.run },
  { key: "j_worker_invoke", title: "worker-to-worker invoke vs local-to-local invoke, two processes each", run: j.run },
  { key: "k_runtime_restart", title: "workers serving again after a runtime SIGKILL and restart", run: k.run },
  { key: "l_idle_workers", title: "runtime CPU and RSS with 50 idle connected workers", run: l.run },
  { key: "m_jobs", title: "durable jobs: throughput (SQLite, 3 PostgreSQL hosts) and start latency", run: m.run },
  {
    key: "n_streams",
    title: "streams: small-call cost next to invoke, body throughput same-host and cross-host",
    run: n.run,
  },
];

const USAGE = "Usage: deno task bench [--quick] [--only a,b,...] [--out path]";

interface Args {
  quick: boolean;
  only: string[] | undefined;
  out: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, only: undefined, out: new URL("./results.json", import.meta.url).pathname };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === "") throw new TypeError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === "--quick") args.quick = true;
    else if (flag === "--only") args.only = value().split(",").map((s) => s.trim()).filter((s) => s !== "");
    else if (flag === "--out") args.out = value();
    else if (flag === "--help" || flag === "-h") {
      console.log(`${USAGE}\nScenarios: ${SCENARIOS.map((s) => s.key).join(", ")}`);
      Deno.exit(0);
    } else throw new TypeError(`Unknown argument "${argv[i]}"\n${USAGE}`);
  }
  return args;
}

function select(only: string[] | undefined): Scenario[] {
  if (only === undefined) return [...SCENARIOS];
  return only.map((name) => {
    const found = SCENARIOS.find((s) => s.key === name || s.key[0] === name);
    if (found === undefined) {
      throw new TypeError(`Unknown scenario "${name}"; known: ${SCENARIOS.map((s) => s.key).join(", ")}`);
    }
    return found;
  });
}

async function main(): Promise<number> {
  let args: Args, selected: Scenario[];
  try {
    args = parseArgs(Deno.args);
    selected = select(args.only);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const loadBefore = Deno.loadavg();
  const results: Record<string, ScenarioResult | { error: string }> = {};
  const report: Record<string, unknown> = {};
  let failed = false;
  for (const s of selected) {
    console.error(`[bench] ${s.key}: ${s.title}${args.quick ? " (quick)" : ""}…`);
    const t0 = performance.now();
    try {
      const r = await s.run({ quick: args.quick });
      results[s.key] = r;
      report[s.key] = { title: s.title, durationMs: Math.round(performance.now() - t0), ...r };
    } catch (err) {
      failed = true;
      const error = err instanceof Error ? err.stack ?? err.message : String(err);
      console.error(`[bench] ${s.key} FAILED: ${error}`);
      results[s.key] = { error };
      report[s.key] = { title: s.title, durationMs: Math.round(performance.now() - t0), error };
    }
  }
  console.log(renderTable(results));
  const json = {
    date: new Date().toISOString(),
    quick: args.quick,
    deno: Deno.version,
    platform: { os: Deno.build.os, arch: Deno.build.arch, cpus: navigator.hardwareConcurrency },
    loadavg: { before: loadBefore, after: Deno.loadavg() },
    scenarios: report,
  };
  await Deno.writeTextFile(args.out, JSON.stringify(json, null, 2) + "\n");
  console.error(`[bench] wrote ${args.out}`);
  return failed ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
