/**
 * (l) A runtime holding many idle connected workers: its CPU (utime + stime
 * from `/proc/<pid>/stat`) and RSS over a measured window, and the runtime
 * RPCs the idle workers sent (alarm polls, heartbeats, lease renewals).
 *
 * The runtime is a separate process (the real CLI, PostgreSQL). The workers
 * are `RemoteHost`s in a few worker processes (`_worker.ts`), each host with
 * its own runtime session (TLS, PSK bootstrap) and its own peer listener.
 *
 * @module
 */

import { generatePsk } from "../mod.ts";
import { RUNTIME_DEFAULTS } from "../runtime/options.ts";
import { healthPolicy } from "../host_local/health.ts";
import { deriveClusterCaPem } from "../security/cluster_ca.ts";
import { metric, round, type ScenarioOptions, type ScenarioResult } from "./_stats.ts";
import { type BenchChild, BenchRuntime, ChildSet, procUsage, withDatabase } from "./_cluster.ts";
import { sleep, sum, withTempDir } from "./_util.ts";

const HOST_PSK = "bench-worker-bootstrap-psk";
const TARGET_CPU_PERCENT = 5;

interface RpcSnapshot {
  rpcs: Record<string, number>;
  states: string[];
  hostIds: string[];
}

/** Runtime CPU (% of one core) and the processes' CPU over `windowMs`, plus the RPCs the workers sent meanwhile. */
async function window(runtime: BenchRuntime, procs: BenchChild[], windowMs: number) {
  const rpcsBefore = await Promise.all(procs.map((p) => p.request<RpcSnapshot>({ op: "rpcs" })));
  const [rt0, ...w0] = await Promise.all([runtime.pid, ...procs.map((p) => p.pid)].map(procUsage));
  const t0 = performance.now();
  await sleep(windowMs);
  const [rt1, ...w1] = await Promise.all([runtime.pid, ...procs.map((p) => p.pid)].map(procUsage));
  const seconds = (performance.now() - t0) / 1000;
  const rpcsAfter = await Promise.all(procs.map((p) => p.request<RpcSnapshot>({ op: "rpcs" })));
  const byMethod: Record<string, number> = {};
  rpcsAfter.forEach((after, i) => {
    for (const [m, n] of Object.entries(after.rpcs)) {
      byMethod[m] = (byMethod[m] ?? 0) + n - (rpcsBefore[i].rpcs[m] ?? 0);
    }
  });
  for (const [m, n] of Object.entries(byMethod)) if (n === 0) delete byMethod[m];
  return {
    seconds,
    runtimeCpuPercent: (rt1.cpuSeconds - rt0.cpuSeconds) / seconds * 100,
    runtimeRssBytes: rt1.rssBytes,
    workerProcsCpuPercent: sum(w1.map((u, i) => u.cpuSeconds - w0[i].cpuSeconds)) / seconds * 100,
    workerProcsRssBytes: sum(w1.map((u) => u.rssBytes)),
    rpcsPerSecond: Object.fromEntries(Object.entries(byMethod).map(([m, n]) => [m, n / seconds])),
    states: rpcsAfter.flatMap((s) => s.states),
  };
}

/** Runs scenario (l). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const workers = quick ? 10 : 50;
  const procs = quick ? 1 : 2;
  const windowMs = quick ? 3_000 : 10_000;
  const settleMs = quick ? 2_000 : 5_000;
  const baselineMs = quick ? 1_000 : 3_000;
  return withDatabase("l_idle_workers", (url) =>
    withTempDir(async (dir) => {
      const psk = generatePsk();
      const caPem = await deriveClusterCaPem(psk);
      const children = new ChildSet({ url, psk });
      let runtime: BenchRuntime | undefined;
      try {
        runtime = await BenchRuntime.start({ dir, psk, hostPsk: HOST_PSK, url });
        await runtime.ready();
        await sleep(500);
        const empty = await window(runtime, [], baselineMs);

        const joinStart = performance.now();
        const perProc = Array.from({ length: procs }, (_, p) =>
          Math.floor(workers / procs) + (p < workers % procs ? 1 : 0));
        const started = await children.startWorkers(perProc.map((hosts, p) => ({
          label: `l${p}`,
          runtimes: [runtime!.address],
          hostPsk: HOST_PSK,
          caPem,
          types: ["counter"],
          hosts,
        })));
        const joinMs = performance.now() - joinStart;
        await sleep(settleMs);
        const idle = await window(runtime, started, windowMs);
        const running = idle.states.filter((s) =>
          s === "running"
        ).length;
        if (running !== workers) throw new Error(`only ${running} of ${workers} workers running: ${idle.states}`);
        const hostIds = new Set(started.flatMap((c) => c.hostIds));
        if (hostIds.size !== workers) throw new Error(`${hostIds.size} distinct host IDs for ${workers} workers`);

        const rpcRate = sum(Object.values(idle.rpcsPerSecond));
        const rate = (m: string) => idle.rpcsPerSecond[m] ?? 0;
        const d = RUNTIME_DEFAULTS;
        const heartbeatPeriodMs = healthPolicy(d.healthCheckDeadlineMs).periodMs;
        const renewPeriodMs = d.alarmsLeaseDurationMs < 20_000
          ? d.alarmsLeaseDurationMs / 2
          : d.alarmsLeaseDurationMs - 10_000;
        const expected = workers * (1000 / d.alarmsPollIntervalMs + 1000 / heartbeatPeriodMs + 1000 / renewPeriodMs);
        const mb = (b: number) => b / 1_048_576;
        return {
          metrics: [
            metric(`runtime CPU, ${workers} idle workers`, idle.runtimeCpuPercent, "% of a core", {
              op: "<=",
              value: TARGET_CPU_PERCENT,
            }),
            metric(`runtime RSS, ${workers} idle workers`, mb(idle.runtimeRssBytes), "MB"),
            metric("runtime CPU, no worker", empty.runtimeCpuPercent, "% of a core"),
            metric("runtime RSS, no worker", mb(empty.runtimeRssBytes), "MB"),
            metric("runtime RPCs served (all methods)", rpcRate, "RPC/s"),
            metric("alarm polls (fetchAndLeaseAlarms)", rate("fetchAndLeaseAlarms"), "RPC/s"),
            metric("heartbeats", rate("heartbeat"), "RPC/s"),
            metric("CPU per RPC (runtime CPU ÷ RPCs)", idle.runtimeCpuPercent * 10_000 / rpcRate, "µs"),
          ],
          params: {
            workers,
            workerProcesses: procs,
            workersPerProcess: perProc,
            windowMs,
            settleMs,
            baselineWindowMs: baselineMs,
            runtime: "separate process, real CLI (runtime/main.ts serve --config), PostgreSQL, default settings",
            settings: {
              alarmsPollIntervalMs: d.alarmsPollIntervalMs,
              healthCheckDeadlineMs: d.healthCheckDeadlineMs,
              heartbeatPeriodMs,
              alarmsLeaseDurationMs: d.alarmsLeaseDurationMs,
              leaseRenewPeriodMs: renewPeriodMs,
              requestTimeoutMs: "15000 (RemoteHost default; mux keepalive pings only while requests are in flight)",
            },
          },
          notes: [
            `The runtime is a separate process (real CLI, PostgreSQL, default settings), so its CPU is read from ` +
            "/proc/<pid>/stat (utime + stime) over the window; 100% = one core. RSS is VmRSS at the end of the window.",
            `The ${workers} workers are RemoteHosts in ${procs} worker process(es) (${perProc.join(" + ")}) to fit ` +
            "the 2-core box; each has its own runtime session (its own TLS connection, PSK bootstrap, workload " +
            "certificate) and its own peer listener on 127.0.0.1:0, and serves `counter`. No actor is active and " +
            "no alarm is stored: this is the idle cost.",
            `The window (${windowMs} ms) starts ${settleMs} ms after every worker joined (joining took ` +
            `${Math.round(joinMs)} ms). The runtime's CPU with no worker is measured over ${baselineMs} ms before ` +
            "the workers join.",
            "RPCs are counted in the worker processes (every RemoteProvider method call is one request on the " +
            "session, which the runtime serves); their rate is the load the runtime served. Default settings: " +
            `alarm poll every ${d.alarmsPollIntervalMs} ms, heartbeat every ${heartbeatPeriodMs} ms (deadline ` +
            `${d.healthCheckDeadlineMs} ms), lease renewal every ${renewPeriodMs} ms: about ` +
            `${round(expected, 1)} RPC/s expected for ${workers} workers. Each alarm poll is one PostgreSQL ` +
            "transaction on the runtime (BEGIN, host row, lock the host's type rows, candidates, COMMIT).",
            `Worker processes meanwhile: ${round(idle.workerProcsCpuPercent, 1)}% CPU in total, ` +
            `${round(mb(idle.workerProcsRssBytes), 0)} MB RSS in total. PostgreSQL's own CPU is not counted.`,
          ],
          details: {
            idle: {
              seconds: round(idle.seconds, 2),
              runtimeCpuPercent: round(idle.runtimeCpuPercent, 2),
              runtimeRssMb: round(mb(idle.runtimeRssBytes), 1),
              workerProcsCpuPercent: round(idle.workerProcsCpuPercent, 2),
              workerProcsRssMb: round(mb(idle.workerProcsRssBytes), 1),
              rpcsPerSecond: Object.fromEntries(Object.entries(idle.rpcsPerSecond).map(([m, r]) => [m, round(r, 2)])),
            },
            noWorker: {
              seconds: round(empty.seconds, 2),
              runtimeCpuPercent: round(empty.runtimeCpuPercent, 2),
              runtimeRssMb: round(mb(empty.runtimeRssBytes), 1),
            },
            joinMs: Math.round(joinMs),
            expectedRpcsPerSecond: round(expected, 2),
          },
        };
      } finally {
        await children.disposeAll();
        await runtime?.dispose();
      }
    }));
}
