-- 002: the lifecycle as SQL functions. Both store adapters call these (pg
-- directly, supabase as RPCs), so every rule lives in one place. Each returns
-- jsonb; errors use SQLSTATE RV404 (unknown run), RV409 (illegal transition),
-- RV412 (stale fencing token), RV422 (bad input). Every write takes an event
-- id: replaying the same write (spool, duplicate delivery) changes nothing.

-- Lock the run row or raise RV404.
CREATE FUNCTION rv_lock_run(p_run uuid) RETURNS runs LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  SELECT * INTO r FROM runs WHERE id = p_run FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'run % not found', p_run USING ERRCODE = 'RV404'; END IF;
  RETURN r;
END $$;

-- A write carrying a fencing token is accepted only while it is the current one.
CREATE FUNCTION rv_check_fence(r runs, p_fence bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_fence IS NOT NULL AND p_fence <> r.fence THEN
    RAISE EXCEPTION 'stale fencing token % for run % (current %)', p_fence, r.id, r.fence USING ERRCODE = 'RV412';
  END IF;
END $$;

CREATE FUNCTION rv_check_transition(r runs, p_to text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM run_transitions WHERE from_status = r.status AND to_status = p_to) THEN
    RAISE EXCEPTION 'illegal transition % -> % for run %', r.status, p_to, r.id USING ERRCODE = 'RV409';
  END IF;
END $$;

CREATE FUNCTION rv_event_seen(p_event_id text) RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM run_events WHERE id = p_event_id)
$$;

CREATE FUNCTION rv_create_run(p_id uuid, p_product jsonb, p_input jsonb, p_actor text, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  IF p_product IS NULL OR jsonb_typeof(p_product) <> 'object' THEN
    RAISE EXCEPTION 'product must be an object' USING ERRCODE = 'RV422';
  END IF;
  INSERT INTO runs (id, product, input) VALUES (p_id, p_product, coalesce(p_input, '{}'))
    ON CONFLICT (id) DO NOTHING;
  IF NOT rv_event_seen(p_event_id) THEN
    INSERT INTO run_events (id, run_id, type, actor, payload) VALUES (p_event_id, p_id, 'run_created', p_actor, '{}');
  END IF;
  SELECT * INTO r FROM runs WHERE id = p_id;
  RETURN to_jsonb(r);
END $$;

-- A worker takes a stage: bumps the fence and marks the run running. Returns
-- {stale: true} without change when the job no longer matches the run.
-- Superseded: migration 007 replaces this body (CREATE OR REPLACE in
-- 007_hot_path.sql); the live rv_claim_stage is there. Kept as it was applied.
CREATE FUNCTION rv_claim_stage(p_run uuid, p_stage text, p_attempt integer, p_worker text, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; prev text;
BEGIN
  r := rv_lock_run(p_run);
  IF r.stage <> p_stage OR r.attempt <> p_attempt OR r.status NOT IN ('queued','approved','running') THEN
    RETURN jsonb_build_object('stale', true, 'run', to_jsonb(r));
  END IF;
  prev := r.status;
  UPDATE runs SET fence = fence + 1, status = 'running', worker_id = p_worker, updated_at = now()
    WHERE id = p_run RETURNING * INTO r;
  INSERT INTO run_stages (run_id, stage, attempt, fence, worker_id)
    VALUES (p_run, p_stage, p_attempt, r.fence, p_worker)
    ON CONFLICT (run_id, stage) DO UPDATE
      SET status = 'running', fence = EXCLUDED.fence, worker_id = EXCLUDED.worker_id,
          attempt = EXCLUDED.attempt, finished_at = NULL;  -- steps kept: resume continues from the checkpoint
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, 'stage_claimed', p_worker, r.fence,
            jsonb_build_object('stage', p_stage, 'attempt', p_attempt, 'from', prev));
  RETURN jsonb_build_object('stale', false, 'run', to_jsonb(r),
    'steps', (SELECT steps FROM run_stages WHERE run_id = p_run AND stage = p_stage));
END $$;

-- Checkpoint one finished step of a stage.
CREATE FUNCTION rv_checkpoint(p_run uuid, p_stage text, p_fence bigint, p_step text, p_result jsonb, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN jsonb_build_object('duplicate', true); END IF;
  PERFORM rv_check_fence(r, p_fence);
  UPDATE run_stages SET steps = steps || jsonb_build_object(p_step, coalesce(p_result, 'null'::jsonb))
    WHERE run_id = p_run AND stage = p_stage;
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, 'step_done', coalesce(r.worker_id, 'worker'), p_fence,
            jsonb_build_object('stage', p_stage, 'step', p_step));
  RETURN jsonb_build_object('duplicate', false);
END $$;

-- Append an audit event. With a fence, only the current holder may write.
CREATE FUNCTION rv_append_event(p_event_id text, p_run uuid, p_fence bigint, p_type text, p_actor text,
                                p_reason text, p_payload jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN jsonb_build_object('duplicate', true); END IF;
  PERFORM rv_check_fence(r, p_fence);
  INSERT INTO run_events (id, run_id, type, actor, reason, fence, payload)
    VALUES (p_event_id, p_run, p_type, p_actor, p_reason, p_fence, coalesce(p_payload, '{}'));
  RETURN jsonb_build_object('duplicate', false);
END $$;

-- Finish a stage: record its output and move the run to the next stage (or
-- done). Between stages nobody holds the run; the next claim names its worker.
CREATE FUNCTION rv_complete_stage(p_run uuid, p_stage text, p_fence bigint, p_output jsonb, p_next text, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; holder text;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN to_jsonb(r); END IF;
  PERFORM rv_check_fence(r, p_fence);
  IF r.status <> 'running' OR r.stage <> p_stage THEN
    RAISE EXCEPTION 'run % is % at %, cannot complete %', p_run, r.status, r.stage, p_stage USING ERRCODE = 'RV409';
  END IF;
  holder := coalesce(r.worker_id, 'worker');
  UPDATE run_stages SET status = 'done', output = p_output, finished_at = now() WHERE run_id = p_run AND stage = p_stage;
  UPDATE runs SET output = output || jsonb_build_object(p_stage, coalesce(p_output, 'null'::jsonb)),
                  stage = coalesce(p_next, stage),
                  status = CASE WHEN p_next IS NULL THEN 'done' ELSE status END,
                  worker_id = NULL,
                  force_refetch = CASE WHEN p_stage = 'evidence' THEN false ELSE force_refetch END,
                  updated_at = now()
    WHERE id = p_run RETURNING * INTO r;
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, CASE WHEN p_next IS NULL THEN 'run_done' ELSE 'stage_completed' END,
            holder, p_fence, jsonb_build_object('stage', p_stage, 'next', p_next));
  RETURN to_jsonb(r);
END $$;

-- A worker-side status change (gate, panic, failure), fenced. For panic and
-- failed the reason becomes worker_last_error.
CREATE FUNCTION rv_transition(p_run uuid, p_to text, p_fence bigint, p_actor text, p_reason text,
                              p_payload jsonb, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; prev text;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN to_jsonb(r); END IF;
  PERFORM rv_check_fence(r, p_fence);
  PERFORM rv_check_transition(r, p_to);
  prev := r.status;
  UPDATE runs SET status = p_to,
                  panic_kind = CASE WHEN p_to = 'panic' THEN p_payload->>'kind' ELSE panic_kind END,
                  worker_last_error = CASE WHEN p_to IN ('panic','failed') THEN p_reason ELSE worker_last_error END,
                  worker_id = CASE WHEN p_to IN ('done','failed','aborted','panic','waiting_approval') THEN NULL ELSE worker_id END,
                  updated_at = now()
    WHERE id = p_run RETURNING * INTO r;
  IF p_to = 'waiting_approval' THEN
    UPDATE run_stages SET status = 'gated', output = p_payload WHERE run_id = p_run AND stage = r.stage;
  END IF;
  INSERT INTO run_events (id, run_id, type, actor, reason, fence, payload)
    VALUES (p_event_id, p_run, CASE p_to WHEN 'waiting_approval' THEN 'gate_opened' WHEN 'panic' THEN coalesce(p_payload->>'kind', 'panic')
                                         ELSE 'status_' || p_to END,
            p_actor, p_reason, p_fence, coalesce(p_payload, '{}') || jsonb_build_object('from', prev, 'to', p_to));
  RETURN to_jsonb(r);
END $$;

-- A worker stopping gracefully hands its run back: still running at its
-- checkpoint, but held by nobody, so the next claim is not mistaken for a
-- takeover and the operator does not see a stopped worker as its owner.
CREATE FUNCTION rv_release_stage(p_run uuid, p_fence bigint, p_actor text, p_reason text, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN to_jsonb(r); END IF;
  PERFORM rv_check_fence(r, p_fence);
  UPDATE runs SET worker_id = NULL, updated_at = now() WHERE id = p_run RETURNING * INTO r;
  INSERT INTO run_events (id, run_id, type, actor, reason, fence, payload)
    VALUES (p_event_id, p_run, 'stage_released', p_actor, p_reason, p_fence, jsonb_build_object('stage', r.stage));
  RETURN to_jsonb(r);
END $$;
