/**
 * Migration v4 of the PostgreSQL provider (see `migrations.ts`): the alarm
 * fetch moves onto the plan-stable walk that migration v3 gave jobs. Shipped
 * entries are never edited; a change is a new migration.
 *
 * @module
 */

/**
 * Version 4: alarm fetch, as v3 for jobs (see `migration_v3.ts` for why the
 * walk lives in plpgsql functions with `enable_bitmapscan = off`). Unleased
 * due alarms and alarms whose lease expired are read through one partial
 * index each, so the leases of alarms queued on hosts (with fetch-ahead,
 * thousands) are never scanned; the plain due-time index served only the
 * fetch and is dropped.
 *
 * - `<p>_alarm_candidates` returns, locked (`FOR UPDATE SKIP LOCKED`), up to
 *   `p_limit` alarms after the cursor from each branch (src 0: lease expired,
 *   src 1: unleased) that are due by `p_due`, of a type the host serves, whose
 *   actor is unplaced, placed on the host or placed on a host dead by
 *   `p_deadline`. The caller merges the branches in `(due_time, alarm_id)`
 *   order.
 * - `<p>_lease_due_alarms` takes the first `p_limit` of them and, when every
 *   one is of an actor already placed on the (healthy) host, leases them in
 *   the same statement. Otherwise it leases nothing and says why (`healthy`,
 *   `must_place`), and the caller runs the placing transaction.
 */
export const V4_ALARM_FETCH: string = `
CREATE INDEX {p}_alarms_unleased_idx ON {p}_alarms (due_time, alarm_id) WHERE lease_id IS NULL;
CREATE INDEX {p}_alarms_leased_idx ON {p}_alarms (lease_expiration) WHERE lease_id IS NOT NULL;
DROP INDEX {p}_alarms_due_idx;

CREATE FUNCTION {p}_alarm_candidates(p_host text, p_due bigint, p_now bigint, p_deadline bigint,
    p_after_due bigint, p_after_id text, p_limit integer)
  RETURNS TABLE (src integer, alarm_id text, actor_type text, actor_id text, due_time bigint, placed_host text)
  LANGUAGE plpgsql SET enable_bitmapscan = off AS $$
#variable_conflict use_column
BEGIN
  IF (SELECT x.lease_expiration FROM {p}_alarms x WHERE x.lease_id IS NOT NULL AND x.lease_expiration <= p_now
      ORDER BY x.lease_expiration LIMIT 1) IS NOT NULL THEN
    RETURN QUERY
      SELECT 0, al.alarm_id::text, al.actor_type::text, al.actor_id::text, al.due_time, aa.host_id::text
      FROM {p}_alarms al
      JOIN {p}_host_types t ON t.host_id = p_host AND t.actor_type = al.actor_type
      LEFT JOIN {p}_active_actors aa ON aa.actor_type = al.actor_type AND aa.actor_id = al.actor_id
      WHERE al.lease_id IS NOT NULL AND al.lease_expiration <= p_now AND al.due_time <= p_due
        AND (al.due_time, al.alarm_id) > (p_after_due, p_after_id)
        AND (aa.host_id IS NULL OR aa.host_id = p_host
          OR aa.host_id IN (SELECT d.host_id FROM {p}_hosts d WHERE d.last_health_check < p_deadline))
      ORDER BY al.due_time, al.alarm_id LIMIT p_limit
      FOR UPDATE OF al SKIP LOCKED;
  END IF;
  RETURN QUERY
    SELECT 1, al.alarm_id::text, al.actor_type::text, al.actor_id::text, al.due_time, aa.host_id::text
    FROM {p}_alarms al
    JOIN {p}_host_types t ON t.host_id = p_host AND t.actor_type = al.actor_type
    LEFT JOIN {p}_active_actors aa ON aa.actor_type = al.actor_type AND aa.actor_id = al.actor_id
    WHERE al.lease_id IS NULL AND al.due_time <= p_due
      AND (al.due_time, al.alarm_id) > (p_after_due, p_after_id)
      AND (aa.host_id IS NULL OR aa.host_id = p_host
          OR aa.host_id IN (SELECT d.host_id FROM {p}_hosts d WHERE d.last_health_check < p_deadline))
    ORDER BY al.due_time, al.alarm_id LIMIT p_limit
    FOR UPDATE OF al SKIP LOCKED;
END $$;

CREATE FUNCTION {p}_lease_due_alarms(p_host text, p_due bigint, p_now bigint, p_deadline bigint, p_limit integer,
    p_expiration bigint)
  RETURNS TABLE (healthy boolean, must_place boolean, alarm_id text, lease_id text, actor_type text, actor_id text,
    name text, due_time bigint)
  LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  IF NOT EXISTS (SELECT 1 FROM {p}_hosts h WHERE h.host_id = p_host AND h.last_health_check >= p_deadline) THEN
    RETURN QUERY SELECT false, false, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::bigint;
    RETURN;
  END IF;
  RETURN QUERY
    WITH picked AS (
      SELECT c.alarm_id, c.placed_host
      FROM {p}_alarm_candidates(p_host, p_due, p_now, p_deadline, -9223372036854775808, '', p_limit) c
      ORDER BY c.due_time, c.alarm_id COLLATE "C" LIMIT p_limit
    ), verdict AS (
      SELECT EXISTS (SELECT 1 FROM picked p WHERE p.placed_host IS DISTINCT FROM p_host) AS must_place
    ), leased AS (
      UPDATE {p}_alarms al SET lease_id = gen_random_uuid()::text, lease_expiration = p_expiration
      FROM picked p, verdict v
      WHERE al.alarm_id = p.alarm_id AND NOT v.must_place
      RETURNING al.alarm_id::text, al.lease_id::text, al.actor_type::text, al.actor_id::text, al.name::text,
        al.due_time
    )
    SELECT true, v.must_place, l.alarm_id, l.lease_id, l.actor_type, l.actor_id, l.name, l.due_time
    FROM verdict v LEFT JOIN leased l ON true;
END $$;
`;
