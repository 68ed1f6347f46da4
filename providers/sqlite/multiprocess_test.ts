import { SCHEMA_VERSION } from "./migrations.ts";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";

const PROCESSES = 3;
const ACTORS = 50;

Deno.test("SqliteProvider: 3 processes on one new file migrate it once and agree on one placement per actor", async () => {
  const dir = await Deno.makeTempDir({ prefix: "francis_sqlite_mp_" });
  try {
    const path = `${dir}/francis.db`;
    const script = new URL("./_multiprocess_child.ts", import.meta.url).pathname;
    const startAt = Date.now() + 2000;
    const children = Array.from({ length: PROCESSES }, () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, path, String(startAt)],
        stdout: "piped",
        stderr: "piped",
      }).output());
    const outputs = await Promise.all(children);

    const results = outputs.map((out, i) => {
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `child ${i} failed: ${stderr}`);
      return JSON.parse(new TextDecoder().decode(out.stdout)) as {
        hostId: string;
        placements: Record<string, string | string[]>;
      };
    });

    const hostIds = results.map((r) => r.hostId);
    const db = new DatabaseSync(path);
    try {
      const version = db.prepare("SELECT value FROM francis_metadata WHERE key = 'schema_version'").get() as {
        value: string;
      };
      assert.equal(version.value, String(SCHEMA_VERSION), "the processes raced to migrate the new file, exactly once");
      const rows = db.prepare("SELECT actor_id, host_id FROM francis_active_actors WHERE actor_type = 'worker'")
        .all() as { actor_id: string; host_id: string }[];
      assert.equal(rows.length, ACTORS, "exactly one placement row per actor");
      const stored = new Map(rows.map((r) => [r.actor_id, r.host_id]));
      for (let a = 0; a < ACTORS; a++) {
        const actorId = `actor-${a}`;
        const host = stored.get(actorId);
        assert.ok(host !== undefined && hostIds.includes(host), `${actorId} has a placement on a registered host`);
        for (const [i, result] of results.entries()) {
          assert.equal(result.placements[actorId], host, `process ${i} saw ${actorId} on the stored host`);
        }
      }
      const integrity = db.prepare("PRAGMA integrity_check").get() as { integrity_check: string };
      assert.equal(integrity.integrity_check, "ok");
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
