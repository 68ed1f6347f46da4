/**
 * Durability under SIGKILL: a host process under write load is killed; a
 * restarted host on the same SQLite file must find every write that was
 * acknowledged to a caller, and the alarms that were pending must still fire.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { LocalHost } from "../mod.ts";
import { createSqliteProvider } from "../providers/sqlite/mod.ts";
import { waitFor } from "../testing/wait_for.ts";
import { registerCrashActors } from "./_crash_actors.ts";
import { linesOf } from "./_shared/processes.ts";

const WRITERS = 50;
const ALARMS = 20;
const ACKS_BEFORE_KILL = 3_000;

Deno.test("crash: SIGKILL during a write load loses no acknowledged write, and pending alarms fire after restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis-crash-" });
  const path = `${dir}/crash.db`;
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_crash_child.ts", import.meta.url).pathname, path, `${WRITERS}`, `${ALARMS}`],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const acked = new Map<string, number>();
    let acks = 0;
    let alarmsDue = 0;
    const lines = linesOf(child.stdout);
    const deadline = Date.now() + 60_000;
    for await (const line of lines) {
      const [kind, a, b] = line.split(" ");
      if (kind === "alarms") alarmsDue = Number(a);
      if (kind === "ack") {
        acked.set(a, Math.max(acked.get(a) ?? 0, Number(b)));
        acks++;
      }
      if (acks >= ACKS_BEFORE_KILL || Date.now() > deadline) break;
    }
    child.kill("SIGKILL");
    const killedAt = Date.now();
    const status = await child.status;
    assert.equal(status.signal, "SIGKILL");
    assert.ok(acks >= ACKS_BEFORE_KILL, `only ${acks} writes were acknowledged before the deadline`);
    assert.ok(alarmsDue > killedAt, "the alarms came due before the kill, so this run proves nothing about them");

    const db = new DatabaseSync(path);
    assert.equal((db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check, "ok");
    db.close();

    const host = new LocalHost({
      address: "127.0.0.1:0",
      runtimePsks: ["crash test pre-shared key, long enough to pass"],
      provider: createSqliteProvider({ path }),
      healthCheckDeadlineMs: 2_000,
      alarmsPollIntervalMs: 250,
    });
    registerCrashActors(host);
    await host.start();
    try {
      for (const [actorId, seq] of acked) {
        const state = await host.service.getState<{ seq: number }>("writer", actorId);
        assert.ok(state.seq >= seq, `${actorId}: stored seq ${state.seq} < acknowledged seq ${seq}`);
      }
      // The dead host still holds placements until its health deadline passes; then the alarms are taken over.
      await waitFor(async () => {
        const { states } = await host.service.listStates("alarmed", { limit: 1000 });
        return states.length === ALARMS;
      }, { timeoutMs: 20_000, what: `all ${ALARMS} pending alarms to fire after the restart` });
    } finally {
      await host.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
