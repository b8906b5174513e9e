-- 011: the OpenTelemetry trace a run was created in (issue 16), so the run,
-- its API response, `rayvault run --json`, its alerts and its log lines all
-- name the trace an operator opens in Jaeger or Tempo. NULL when tracing was
-- off at creation. `traceparent` is the W3C context of the run's creation
-- span: operator actions (approve, resume, refetch) continue the run's trace
-- from it in whichever process they happen.
--
-- rv_create_run takes p_traceparent (optional, last); the trace id is the
-- one it names. A repeated create (same id) keeps the trace of the first.

ALTER TABLE runs
  ADD COLUMN traceparent text CHECK (traceparent ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'),
  ADD COLUMN trace_id text GENERATED ALWAYS AS (split_part(traceparent, '-', 2)) STORED;

DROP FUNCTION rv_create_run(uuid, jsonb, jsonb, text, text);

CREATE FUNCTION rv_create_run(p_id uuid, p_product jsonb, p_input jsonb, p_actor text, p_event_id text, p_traceparent text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  IF p_product IS NULL OR jsonb_typeof(p_product) <> 'object' THEN
    RAISE EXCEPTION 'product must be an object' USING ERRCODE = 'RV422';
  END IF;
  INSERT INTO runs (id, product, input, traceparent) VALUES (p_id, p_product, coalesce(p_input, '{}'), p_traceparent)
    ON CONFLICT (id) DO NOTHING;
  IF NOT rv_event_seen(p_event_id) THEN
    INSERT INTO run_events (id, run_id, type, actor, payload) VALUES (p_event_id, p_id, 'run_created', p_actor,
      CASE WHEN p_traceparent IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('trace_id', split_part(p_traceparent, '-', 2)) END);
  END IF;
  SELECT * INTO r FROM runs WHERE id = p_id;
  RETURN to_jsonb(r);
END $$;

-- The reconciler and a restarted worker re-queue runs from this list: the job
-- they queue carries the run's trace context, so the stage stays in its trace.
CREATE OR REPLACE FUNCTION rv_runs_in_flight() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'status', status, 'stage', stage, 'attempt', attempt,
                                               'worker_id', worker_id, 'updated_at', updated_at, 'traceparent', traceparent)), '[]')
  FROM runs WHERE status IN ('queued','approved','running')
$$;
