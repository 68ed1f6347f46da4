/**
 * (j) Worker-to-worker invoke vs local-host-to-local-host invoke, measured in
 * one run: two `RemoteHost` worker processes joined to one runtime process
 * (the real CLI, PostgreSQL), and two `LocalHost` processes on PostgreSQL
 * (`_child.ts`, as in f). In each pair one process serves `echo` and the
 * other serves no type, so every call the latter makes is forwarded over the
 * mutual-TLS peer link. The call loop runs inside the calling process.
 *
 * @module
 */

import { generatePsk } from "../mod.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { metric, round, roundSummary, type ScenarioOptions, type ScenarioResult } from "./_stats.ts";
import { type BenchChild, BenchRuntime, ChildSet, procUsage, withDatabase } from "./_cluster.ts";
import { type CallMeasurement, withTempDir } from "./_util.ts";

const TYPE = "echo";
const IN_FLIGHT = 64;
const HOST_PSK = "bench-worker-bootstrap-psk";
const TARGET_RATIO = 1.2;

/** One measurement of one pair, with the CPU both processes used during it. */
interface Round {
  system: "local" | "worker";
  m: CallMeasurement;
  callerCpuUsPerCall: number;
  serverCpuUsPerCall: number;
}

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2 === 1
    ? s[(s.length - 1) / 2]
    : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Runs scenario (j). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const warmup = quick ? 500 : 5_000;
  const calls = quick ? 1_000 : 20_000;
  const perCaller = quick ? 50 : 1_000;
  const rounds = quick ? 1 : 2;
  const sizes = { warmup, calls, perCaller, inFlight: IN_FLIGHT };
  const callsPerMeasure = warmup + calls + IN_FLIGHT * (Math.max(10, warmup / IN_FLIGHT) + perCaller);
  // Two databases: the LocalHosts and the runtime must not share the host table (one cluster each).
  return withDatabase(
    "j_worker_invoke",
    (localUrl) =>
      withDatabase("j_worker_invoke", (remoteUrl) =>
        withTempDir(async (dir) => {
          const psk = generatePsk();
          const caPem = await deriveClusterCaPem(psk);
          const children = new ChildSet({ url: localUrl, psk });
          let runtime: BenchRuntime | undefined;
          try {
            runtime = await BenchRuntime.start({ dir, psk, hostPsk: HOST_PSK, url: remoteUrl });
            await runtime.ready();
            const worker = { runtimes: [runtime.address], hostPsk: HOST_PSK, caPem };
            const [[localServer, localCaller], [workerServer, workerCaller]] = await Promise.all([
              Promise.all([children.start(["j-local-server"], [TYPE]), children.start(["j-local-caller"], [])])
                .then((r) => r.flat()),
              children.startWorkers([
                { ...worker, label: "j-worker-server", types: [TYPE] },
                { ...worker, label: "j-worker-caller", types: [] },
              ]),
            ]);
            const pairs: Record<Round["system"], [caller: BenchChild, server: BenchChild]> = {
              local: [localCaller, localServer],
              worker: [workerCaller, workerServer],
            };
            for (const [caller] of Object.values(pairs)) {
              const answer = await caller.request<{ ok?: boolean }>({ op: "invoke", type: TYPE, actorId: "seq" });
              if (answer?.ok !== true) throw new Error(`${caller.label}: echo answered ${JSON.stringify(answer)}`);
            }

            const results: Round[] = [];
            for (let r = 0; r < rounds; r++) {
              // Alternate the order (local first, then worker first) so that drift on the machine hits both.
              const order: Round["system"][] = r % 2 === 0 ? ["local", "worker"] : ["worker", "local"];
              for (const system of order) {
                const [caller, server] = pairs[system];
                console.error(`[bench] j_worker_invoke: round ${r + 1}/${rounds}, ${system}…`);
                const [c0, s0] = await Promise.all([procUsage(caller.pid), procUsage(server.pid)]);
                const m = await caller.request<CallMeasurement>({
                  op: "measure",
                  type: TYPE,
                  actorId: "seq",
                  prefix: "c",
                  ...sizes,
                });
                const [c1, s1] = await Promise.all([procUsage(caller.pid), procUsage(server.pid)]);
                results.push({
                  system,
                  m,
                  callerCpuUsPerCall: (c1.cpuSeconds - c0.cpuSeconds) * 1e6 / callsPerMeasure,
                  serverCpuUsPerCall: (s1.cpuSeconds - s0.cpuSeconds) * 1e6 / callsPerMeasure,
                });
              }
            }

            const of = (system: Round["system"]) => results.filter((x) => x.system === system);
            const p50 = (system: Round["system"]) => median(of(system).map((x) => x.m.latencyUs.p50));
            const p99 = (system: Round["system"]) => median(of(system).map((x) => x.m.latencyUs.p99));
            const rate = (system: Round["system"]) => median(of(system).map((x) => x.m.concRate));
            const p50Ratio = p50("worker") / p50("local");
            const rateCost = rate("local") / rate("worker");
            const target = { op: "<=", value: TARGET_RATIO } as const;
            return {
              metrics: [
                metric("local sequential p50", p50("local"), "µs"),
                metric("worker sequential p50", p50("worker"), "µs"),
                metric("local sequential p99", p99("local"), "µs"),
                metric("worker sequential p99", p99("worker"), "µs"),
                metric(`local ${IN_FLIGHT} in flight`, rate("local"), "calls/s"),
                metric(`worker ${IN_FLIGHT} in flight`, rate("worker"), "calls/s"),
                metric("p50 ratio worker ÷ local", p50Ratio, "×", target),
                metric(`${IN_FLIGHT}-in-flight cost local ÷ worker rate`, rateCost, "×", target),
              ],
              params: {
                processes: "runtime + 2 workers + 2 local hosts (+ this process, idle while measuring)",
                runtime: "separate process, real CLI (runtime/main.ts serve --config), PostgreSQL, default settings",
                provider: "postgres: one database for the local pair, another for the runtime",
                warmup,
                sequentialCalls: calls,
                inFlight: IN_FLIGHT,
                callsPerCaller: perCaller,
                rounds,
                hostOptions: "defaults (LocalHost and RemoteHost)",
              },
              notes: [
                "Worker pair: two RemoteHost processes (one host each) joined to one runtime process started with the " +
                "real CLI on PostgreSQL. Local pair: two LocalHost processes (`_child.ts`, as in f) on another " +
                "PostgreSQL database. In each pair one process serves `echo` (returns { ok: true }) and the other " +
                "serves no type, so every call it makes is forwarded to the owner over the mutual-TLS peer link; the " +
                "runtime is not on that path once the caller's placement cache knows the actor.",
                "The call loop (the same as f: sequential timed calls, then " + IN_FLIGHT +
                " callers each on its own " +
                "actor) runs inside the calling process (`measure` op), so no stdin/stdout hop is timed.",
                `Rounds alternate the order (local first, then worker first); the figures are the medians over ` +
                `${rounds} round(s) per pair. All four host processes stay up during every measurement (the idle pair ` +
                "only polls alarms and heartbeats).",
                "Ratios: p50 worker ÷ local (≥ 1: how much slower a worker call is); throughput cost local ÷ worker " +
                `rate (≥ 1: how much fewer calls/s the workers make). Target ≤ ${TARGET_RATIO} for both.`,
                "details.rounds has the CPU per call (µs, utime + stime of the process ÷ all calls of the measurement, " +
                "warm-up included) of the calling and the serving process.",
              ],
              details: {
                rounds: results.map((x) => ({
                  system: x.system,
                  latencyUs: roundSummary(x.m.latencyUs),
                  seqRate: round(x.m.seqRate, 0),
                  concRate: round(x.m.concRate, 0),
                  callerCpuUsPerCall: round(x.callerCpuUsPerCall, 1),
                  serverCpuUsPerCall: round(x.serverCpuUsPerCall, 1),
                })),
                ratios: {
                  p50: round(p50Ratio, 3),
                  p99: round(p99("worker") / p99("local"), 3),
                  rateCost: round(rateCost, 3),
                },
              },
            };
          } finally {
            await children.disposeAll();
            await runtime?.dispose();
          }
        })),
  );
}
