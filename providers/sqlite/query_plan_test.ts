import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { FETCH_CANDIDATES_SQL } from "./alarms.ts";
import { FETCH_JOBS_SQL } from "./jobs.ts";
import { migrate } from "./migrations.ts";

Deno.test("alarm fetch walks the due-time index, not every alarm of the host's types", () => {
  const db = new DatabaseSync(":memory:");
  try {
    migrate(db, "francis");
    // A host serving type "t" and many far-future alarms of that type; no ANALYZE, as in a real store.
    const insert = db.prepare(
      "INSERT INTO francis_alarms (alarm_id, actor_type, actor_id, name, due_time) VALUES (?, 't', ?, 'n', ?)",
    );
    db.exec("INSERT INTO francis_hosts (host_id, address, last_health_check) VALUES ('h', '127.0.0.1:1', 0)");
    db.exec(
      "INSERT INTO francis_host_actor_types (host_id, actor_type, idle_timeout_ms, concurrency_limit) VALUES ('h', 't', NULL, 0)",
    );
    db.exec("BEGIN");
    for (let i = 0; i < 2_000; i++) insert.run(`a${i}`, `id${i}`, 1e13 + i);
    db.exec("COMMIT");
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${FETCH_CANDIDATES_SQL.replaceAll("{p}", "francis")}`)
      .all("h", 0, 0, 0) as { detail: string }[];
    const details = plan.map((r) => r.detail);
    const alarmsStep = details.find((d) => / al\b/.test(d) || d.includes("francis_alarms AS al"));
    assert.ok(alarmsStep, `no step reads the alarms table: ${JSON.stringify(details)}`);
    assert.match(alarmsStep, /francis_alarms_due_idx/, `alarms read without the due index: ${JSON.stringify(details)}`);
    assert.ok(
      !details.some((d) => d.includes("USE TEMP B-TREE FOR ORDER BY")),
      `extra sort: ${JSON.stringify(details)}`,
    );
  } finally {
    db.close();
  }
});

Deno.test("job fetch walks the due-time index, not every job of the host's types", () => {
  const db = new DatabaseSync(":memory:");
  try {
    migrate(db, "francis");
    const insert = db.prepare(
      `INSERT INTO francis_jobs (job_id, actor_type, actor_id, method, due_time, created_at)
       VALUES (?, 't', ?, 'm', ?, 0)`,
    );
    db.exec("INSERT INTO francis_hosts (host_id, address, last_health_check) VALUES ('h', '127.0.0.1:1', 0)");
    db.exec(
      "INSERT INTO francis_host_actor_types (host_id, actor_type, idle_timeout_ms, concurrency_limit) VALUES ('h', 't', NULL, 0)",
    );
    db.exec("BEGIN");
    for (let i = 0; i < 2_000; i++) insert.run(`j${i}`, `id${i}`, 1e13 + i);
    db.exec("COMMIT");
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${FETCH_JOBS_SQL.replaceAll("{p}", "francis")}`)
      .all("h", 0, 0, 0) as { detail: string }[];
    const details = plan.map((r) => r.detail);
    const jobsStep = details.find((d) => / j\b/.test(d) || d.includes("francis_jobs AS j"));
    assert.ok(jobsStep, `no step reads the jobs table: ${JSON.stringify(details)}`);
    assert.match(jobsStep, /francis_jobs_due_idx/, `jobs read without the due index: ${JSON.stringify(details)}`);
    assert.ok(
      !details.some((d) => d.includes("USE TEMP B-TREE FOR ORDER BY")),
      `extra sort: ${JSON.stringify(details)}`,
    );
  } finally {
    db.close();
  }
});
