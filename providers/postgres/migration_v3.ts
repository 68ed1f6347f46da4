/**
 * Migration v3 of the PostgreSQL provider (see `migrations.ts`): the job
 * fetch's partial indexes and its two plpgsql functions. Shipped entries are
 * never edited; a change is a new migration.
 *
 * @module
 */

/**
 * Version 3: job fetch. The fetch walks unleased due jobs and jobs whose lease
 * expired through one partial index each, so the leases of jobs being run
 * (under load, thousands) are never scanned; the plain due-time index served
 * only the fetch and is dropped.
 *
 * The walk lives in two functions so that its plan does not depend on table
 * statistics: a job table is a queue, and its statistics are routinely stale
 * (never analyzed, or analyzed while every row was leased). The planner then
 * thinks a few rows are due, and with bitmap scans allowed it picks a bitmap
 * scan and a sort of EVERY due job for each fetch instead of reading the index
 * in order up to the batch (140 ms instead of 1 ms at 20,000 jobs). With
 * `enable_bitmapscan = off` inside the function, the ordered index walk is the
 * cheapest plan however wrong the estimates are.
 *
 * - `<p>_job_candidates` returns, locked (`FOR UPDATE SKIP LOCKED`), up to
 *   `p_limit` jobs after the cursor from each branch (src 0: lease expired,
 *   run only when the lease-expiration index holds one; src 1: unleased) that
 *   are due by `p_due`, of a type the host serves, whose actor is unplaced,
 *   placed on the host or placed on a host dead by `p_deadline`. The caller
 *   merges the branches in `(due_time, job_id)` order.
 * - `<p>_lease_due_jobs` takes the first `p_limit` of them and, when every one
 *   is of an actor already placed on the (healthy) host, leases them in the
 *   same statement. Otherwise it leases nothing and says why (`healthy`,
 *   `must_place`), and the caller runs the placing transaction.
 */
export const V3_JOB_FETCH: string = `
CREATE INDEX {p}_jobs_unleased_idx ON {p}_jobs (due_time, job_id) WHERE lease_id IS NULL;
CREATE INDEX {p}_jobs_leased_idx ON {p}_jobs (lease_expiration) WHERE lease_id IS NOT NULL;
DROP INDEX {p}_jobs_due_idx;

CREATE FUNCTION {p}_job_candidates(p_host text, p_due bigint, p_now bigint, p_deadline bigint,
    p_after_due bigint, p_after_id text, p_limit integer)
  RETURNS TABLE (src integer, job_id text, actor_type text, actor_id text, due_time bigint, placed_host text)
  LANGUAGE plpgsql SET enable_bitmapscan = off AS $$
#variable_conflict use_column
BEGIN
  IF (SELECT x.lease_expiration FROM {p}_jobs x WHERE x.lease_id IS NOT NULL AND x.lease_expiration <= p_now
      ORDER BY x.lease_expiration LIMIT 1) IS NOT NULL THEN
    RETURN QUERY
      SELECT 0, j.job_id::text, j.actor_type::text, j.actor_id::text, j.due_time, aa.host_id::text
      FROM {p}_jobs j
      JOIN {p}_host_types t ON t.host_id = p_host AND t.actor_type = j.actor_type
      LEFT JOIN {p}_active_actors aa ON aa.actor_type = j.actor_type AND aa.actor_id = j.actor_id
      WHERE j.lease_id IS NOT NULL AND j.lease_expiration <= p_now AND j.due_time <= p_due
        AND (j.due_time, j.job_id) > (p_after_due, p_after_id)
        AND (aa.host_id IS NULL OR aa.host_id = p_host
          OR aa.host_id IN (SELECT d.host_id FROM {p}_hosts d WHERE d.last_health_check < p_deadline))
      ORDER BY j.due_time, j.job_id LIMIT p_limit
      FOR UPDATE OF j SKIP LOCKED;
  END IF;
  RETURN QUERY
    SELECT 1, j.job_id::text, j.actor_type::text, j.actor_id::text, j.due_time, aa.host_id::text
    FROM {p}_jobs j
    JOIN {p}_host_types t ON t.host_id = p_host AND t.actor_type = j.actor_type
    LEFT JOIN {p}_active_actors aa ON aa.actor_type = j.actor_type AND aa.actor_id = j.actor_id
    WHERE j.lease_id IS NULL AND j.due_time <= p_due
      AND (j.due_time, j.job_id) > (p_after_due, p_after_id)
      AND (aa.host_id IS NULL OR aa.host_id = p_host
          OR aa.host_id IN (SELECT d.host_id FROM {p}_hosts d WHERE d.last_health_check < p_deadline))
    ORDER BY j.due_time, j.job_id LIMIT p_limit
    FOR UPDATE OF j SKIP LOCKED;
END $$;

CREATE FUNCTION {p}_lease_due_jobs(p_host text, p_due bigint, p_now bigint, p_deadline bigint, p_limit integer,
    p_expiration bigint)
  RETURNS TABLE (healthy boolean, must_place boolean, job_id text, lease_id text, actor_type text, actor_id text,
    due_time bigint)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  IF NOT EXISTS (SELECT 1 FROM {p}_hosts h WHERE h.host_id = p_host AND h.last_health_check >= p_deadline) THEN
    RETURN QUERY SELECT false, false, NULL::text, NULL::text, NULL::text, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  RETURN QUERY
    WITH picked AS (
      SELECT c.job_id, c.placed_host
      FROM {p}_job_candidates(p_host, p_due, p_now, p_deadline, -9223372036854775808, '', p_limit) c
      ORDER BY c.due_time, c.job_id COLLATE "C" LIMIT p_limit
    ), verdict AS (
      SELECT EXISTS (SELECT 1 FROM picked p WHERE p.placed_host IS DISTINCT FROM p_host) AS must_place
    ), leased AS (
      UPDATE {p}_jobs j SET lease_id = gen_random_uuid()::text, lease_expiration = p_expiration
      FROM picked p, verdict v
      WHERE j.job_id = p.job_id AND NOT v.must_place
      RETURNING j.job_id::text, j.lease_id::text, j.actor_type::text, j.actor_id::text, j.due_time
    )
    SELECT true, v.must_place, l.job_id, l.lease_id, l.actor_type, l.actor_id, l.due_time
    FROM verdict v LEFT JOIN leased l ON true;
END $$;
`;
