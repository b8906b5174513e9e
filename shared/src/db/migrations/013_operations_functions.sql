-- 013: the ops API's and the doctor's remaining reads as SQL functions, so the
-- operations store (shared/src/store/operations-store.ts) serves them through
-- either adapter (pg or supabase RPC); until now they were SQL in TypeScript
-- on the pg pool, which a Supabase deployment does not have. Read-only; each
-- returns jsonb. rv_close_to_public_roles (008) grants them to service_role only.

-- /metrics: 006's figures plus how long the oldest open gate has waited, in
-- one round trip. 006's function keeps its body under a new name and
-- rv_ops_metrics wraps it. Takes nothing. Returns {runs_by_status, gates_open,
-- stage_durations} (006) and oldest_gate_age_s (seconds; null when no gate is open).
ALTER FUNCTION rv_ops_metrics() RENAME TO rv_ops_run_figures;

CREATE FUNCTION rv_ops_metrics() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT rv_ops_run_figures() || jsonb_build_object('oldest_gate_age_s',
    (SELECT extract(epoch FROM now() - min(updated_at))::float8 FROM runs WHERE status = 'waiting_approval'))
$$;

-- The doctor's view of the runs table, one entry per status present.
-- Takes nothing. Returns [{status, n, oldest_gate (waiting_approval only, else
-- null), last_created, recent (created in the last 24 h)}].
CREATE FUNCTION rv_ops_runs_by_status() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('status', status, 'n', n, 'oldest_gate', oldest_gate,
                                               'last_created', last_created, 'recent', recent) ORDER BY status), '[]')
  FROM (SELECT status, count(*) AS n, min(updated_at) FILTER (WHERE status = 'waiting_approval') AS oldest_gate,
               max(created_at) AS last_created,
               count(*) FILTER (WHERE created_at > now() - interval '24 hours') AS recent
          FROM runs GROUP BY status) x
$$;

-- The dashboard's queue charts: completed stage tries (run_stages done) and
-- runs that failed or panicked, per stage and minute over the last hour.
-- Takes nothing. Returns {since, points: [{stage, minute, completed, failed}]}, oldest minute first.
CREATE FUNCTION rv_ops_stage_throughput() RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH w AS (SELECT now() - interval '1 hour' AS since), x AS (
    SELECT stage, date_trunc('minute', finished_at) AS minute, 1 AS completed, 0 AS failed
      FROM run_stages, w WHERE status = 'done' AND finished_at > w.since
    UNION ALL
    SELECT stage, date_trunc('minute', updated_at), 0, 1
      FROM runs, w WHERE status IN ('failed', 'panic') AND updated_at > w.since
  )
  SELECT jsonb_build_object('since', (SELECT since FROM w), 'points', coalesce((
    SELECT jsonb_agg(jsonb_build_object('stage', stage, 'minute', minute, 'completed', completed, 'failed', failed)
                     ORDER BY minute, stage)
      FROM (SELECT stage, minute, sum(completed) AS completed, sum(failed) AS failed
              FROM x GROUP BY stage, minute) p), '[]'))
$$;

-- The dashboard's live feed starts from the newest run event.
-- Takes nothing. Returns the highest run_events.seq (0 when there is none).
CREATE FUNCTION rv_ops_event_head() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT to_jsonb(coalesce(max(seq), 0)) FROM run_events
$$;

-- Runs with an event after p_after (every state change writes one): one
-- indexed range on run_events.seq, then each run's current status.
-- Takes the last seq seen. Returns [{seq (the run's newest), id, status, stage, updated_at}], by seq.
CREATE FUNCTION rv_ops_run_changes(p_after bigint) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('seq', c.seq, 'id', r.id, 'status', r.status, 'stage', r.stage,
                                               'updated_at', r.updated_at) ORDER BY c.seq), '[]')
  FROM (SELECT run_id, max(seq) AS seq FROM run_events WHERE seq > p_after GROUP BY run_id) c
  JOIN runs r ON r.id = c.run_id
$$;
