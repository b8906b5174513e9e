-- 011: the OpenTelemetry trace a run was created in (issue 16), so the run,
-- its API response, `rayvault run --json`, its alerts and its log lines all
-- name the trace an operator opens in Jaeger or Tempo. NULL when tracing was
-- off at creation.
--
-- rv_create_run takes p_trace_id (optional, last). A repeated create (same
-- id) keeps the trace of the first.

ALTER TABLE runs ADD COLUMN trace_id text CHECK (trace_id ~ '^[0-9a-f]{32}$');

DROP FUNCTION rv_create_run(uuid, jsonb, jsonb, text, text);

CREATE FUNCTION rv_create_run(p_id uuid, p_product jsonb, p_input jsonb, p_actor text, p_event_id text, p_trace_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  IF p_product IS NULL OR jsonb_typeof(p_product) <> 'object' THEN
    RAISE EXCEPTION 'product must be an object' USING ERRCODE = 'RV422';
  END IF;
  INSERT INTO runs (id, product, input, trace_id) VALUES (p_id, p_product, coalesce(p_input, '{}'), p_trace_id)
    ON CONFLICT (id) DO NOTHING;
  IF NOT rv_event_seen(p_event_id) THEN
    INSERT INTO run_events (id, run_id, type, actor, payload) VALUES (p_event_id, p_id, 'run_created', p_actor,
      CASE WHEN p_trace_id IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('trace_id', p_trace_id) END);
  END IF;
  SELECT * INTO r FROM runs WHERE id = p_id;
  RETURN to_jsonb(r);
END $$;
