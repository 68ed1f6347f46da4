/**
 * (h) Failover after SIGKILL of a host, default settings, PostgreSQL: three
 * child host processes serve the `where` actor (it answers its host's label);
 * this process runs a fourth host that serves no type and keeps calling a set
 * of actors, one sequential caller each. Each round kills -9 the host owning
 * the most of them and measures the time from the kill until every one of the
 * victim's actors has answered again from a survivor; a replacement host (new
 * process, fresh port) is started before the next kill.
 *
 * @module
 */

import { generatePsk, LocalHost } from "../mod.ts";
import { createPostgresProvider } from "../providers/postgres/mod.ts";
import { metric, round, roundSummary, type ScenarioOptions, type ScenarioResult, summarize } from "./_stats.ts";
import { type BenchChild, ChildSet, QUIET_LOGGER, withDatabase } from "./_cluster.ts";
import { sleep } from "./_util.ts";

const TYPE = "where";
const ACTORS = 30;
/** A round that has not recovered after this long fails the scenario. */
const GIVE_UP_MS = 60_000;
/** Pause of a caller after a failed call. */
const ERROR_PAUSE_MS = 5;

interface Watch {
  victim: string;
  killedAt: number;
  ids: Set<string>;
  back: Map<string, number>;
}

interface Round {
  victim: string;
  actors: number;
  failoverMs: number;
  failedCalls: number;
  newOwners: Record<string, number>;
}

async function waitUntil(what: string, check: () => boolean, timeoutMs = GIVE_UP_MS): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`h_failover: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}

/** Runs scenario (h). */
export function run({ quick }: ScenarioOptions): Promise<ScenarioResult> {
  const kills = quick ? 2 : 10;
  return withDatabase("h_failover", async (url) => {
    const psk = generatePsk();
    const children = new ChildSet({ url, psk });
    let driver: LocalHost | undefined;
    const stop = new AbortController();
    let load: Promise<unknown> = Promise.resolve();
    try {
      const live: BenchChild[] = await children.start(["h0", "h1", "h2"], [TYPE]);
      driver = new LocalHost({
        address: "127.0.0.1:0",
        runtimePsks: [psk],
        provider: createPostgresProvider({ url }),
        logger: QUIET_LOGGER,
      });
      await driver.start();
      const svc = driver.service;
      const ids = Array.from({ length: ACTORS }, (_, i) => `w${i}`);
      const owner = new Map<string, string>();
      let watch: Watch | undefined;
      let failed = 0;
      load = Promise.all(ids.map(async (id) => {
        while (!stop.signal.aborted) {
          try {
            const host = await svc.invoke<string>(TYPE, id, "where");
            const at = performance.now();
            owner.set(id, host);
            if (watch !== undefined && watch.ids.has(id) && host !== watch.victim && !watch.back.has(id)) {
              watch.back.set(id, at);
            }
          } catch {
            failed++;
            await sleep(ERROR_PAUSE_MS);
          }
        }
      }));

      const rounds: Round[] = [];
      let nextLabel = 3;
      for (let r = 0; r < kills; r++) {
        await waitUntil("every actor to answer", () => owner.size === ids.length);
        await sleep(200); // steady load before the kill
        const byHost = new Map<string, string[]>();
        for (const [id, host] of owner) byHost.set(host, [...(byHost.get(host) ?? []), id]);
        const victim = live.filter((c) => byHost.has(c.label))
          .sort((a, b) => byHost.get(b.label)!.length - byHost.get(a.label)!.length)[0];
        if (victim === undefined) throw new Error(`h_failover: no live host owns an actor (${[...byHost.keys()]})`);
        const moved = byHost.get(victim.label)!;
        const failedBefore = failed;
        const w: Watch = { victim: victim.label, killedAt: performance.now(), ids: new Set(moved), back: new Map() };
        watch = w;
        victim.kill("SIGKILL");
        await waitUntil(`the actors of ${victim.label} to answer on survivors`, () => w.back.size === moved.length);
        const failoverMs = Math.max(...w.back.values()) - w.killedAt;
        watch = undefined;
        const newOwners: Record<string, number> = {};
        for (const id of moved) newOwners[owner.get(id)!] = (newOwners[owner.get(id)!] ?? 0) + 1;
        rounds.push({
          victim: victim.label,
          actors: moved.length,
          failoverMs: round(failoverMs, 1),
          failedCalls: failed - failedBefore,
          newOwners,
        });
        console.error(
          `[bench] h_failover: kill ${r + 1}/${kills}: ${moved.length} actors back in ${round(failoverMs, 0)} ms`,
        );
        await victim.exited;
        const [fresh] = await children.start([`h${nextLabel++}`], [TYPE]);
        live.splice(live.indexOf(victim), 1, fresh);
      }
      stop.abort();
      await load;

      const s = summarize(rounds.map((x) => x.failoverMs));
      return {
        metrics: [
          metric("failover p50", s.p50, "ms"),
          metric("failover max", s.max, "ms", { op: "<=", value: 5_000 }),
        ],
        params: {
          kills,
          actors: ACTORS,
          hosts: 3,
          processes: "3 child host processes + this process's host (serves no type, drives the load)",
          hostOptions: "defaults (healthCheckDeadlineMs 20000, requestTimeoutMs 15000)",
          providerOptions: "defaults",
          errorPauseMs: ERROR_PAUSE_MS,
        },
        notes: [
          "Failover time per kill: from just before SIGKILL of the host owning the most of the 30 actors until " +
          "every one of its actors has answered a call again from another host (the slowest actor counts).",
          "One sequential caller per actor in this process; a failed call is retried after 5 ms. A replacement " +
          "host (new process, fresh port, new host ID) is started and ready before the next kill.",
          "Baselines for the same measure (from the issue): the Go original about 20 s, Orleans about 15 s.",
          `Calls that failed during the rounds: ${failed} in total (see details.rounds).`,
        ],
        details: { failoverMs: roundSummary(s, 1), rounds },
      };
    } finally {
      // On failure the callers may still wait on a peer: stopping the driver first settles their calls.
      stop.abort();
      await driver?.stop().catch(() => {});
      await load.catch(() => {});
      await children.disposeAll();
    }
  });
}
