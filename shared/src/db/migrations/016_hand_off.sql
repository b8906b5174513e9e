-- 016: one Postgres round trip per stage transition on the normal path
-- (issue 14). The completion of stage N also claims stage N+1 for whichever
-- worker takes its job: it bumps the fence, opens N+1's stage row and records
-- `stage_claimed` (actor `hand-off`). The job it queues carries that claim,
-- and the worker that takes the job on its first delivery starts from it
-- without calling rv_claim_stage. Any other delivery (a stalled job, a retry,
-- a postponed job, a re-queue by the reconciler or an operator, a re-drive)
-- claims explicitly and bumps the fence again, so an earlier holder of the
-- hand-off fence is refused as before.
--
-- A handed-off run has no worker_id until its holder's first write names it:
-- a checkpoint or the completion (both take p_worker now).

-- Should Redis lose a job's start (AOF everysec after a crash), a second
-- delivery could take the same hand-off claim while the first still works:
-- the holder's first write binds the fence to its worker, and a write of
-- another worker under that fence is refused as stale (RV412).
CREATE FUNCTION rv_check_holder(r runs, p_worker text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_worker IS NOT NULL AND r.worker_id IS NOT NULL AND r.worker_id <> p_worker THEN
    RAISE EXCEPTION 'fence % of run % is held by %, not %', r.fence, r.id, r.worker_id, p_worker USING ERRCODE = 'RV412';
  END IF;
END $$;

-- Takes: run, stage, fence, output, next stage, worker, event id.
-- Returns a claim of the next stage as rv_claim_stage does ({stale, run, steps});
-- null when the event id was seen (a replay: the queued job then claims explicitly).
CREATE FUNCTION rv_hand_off(p_run uuid, p_stage text, p_fence bigint, p_output jsonb, p_next text, p_worker text,
                            p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; done_steps jsonb;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN NULL; END IF;
  PERFORM rv_check_fence(r, p_fence);
  PERFORM rv_check_holder(r, p_worker);
  IF r.status <> 'running' OR r.stage <> p_stage THEN
    RAISE EXCEPTION 'run % is % at %, cannot complete %', p_run, r.status, r.stage, p_stage USING ERRCODE = 'RV409';
  END IF;
  UPDATE run_stages SET status = 'done', output = p_output, finished_at = now() WHERE run_id = p_run AND stage = p_stage;
  UPDATE runs SET output = output || jsonb_build_object(p_stage, coalesce(p_output, 'null'::jsonb)),
                  stage = p_next, fence = fence + 1, worker_id = NULL,
                  force_refetch = CASE WHEN p_stage = 'evidence' THEN false ELSE force_refetch END,
                  updated_at = now()
    WHERE id = p_run RETURNING * INTO r;
  INSERT INTO run_stages (run_id, stage, attempt, fence, worker_id)
    VALUES (p_run, p_next, r.attempt, r.fence, NULL)
    ON CONFLICT (run_id, stage) DO UPDATE
      SET status = 'running', fence = EXCLUDED.fence, worker_id = NULL, attempt = EXCLUDED.attempt, finished_at = NULL
    RETURNING steps INTO done_steps;
  INSERT INTO run_events (id, run_id, type, actor, fence, payload) VALUES
    (p_event_id, p_run, 'stage_completed', p_worker, p_fence, jsonb_build_object('stage', p_stage, 'next', p_next)),
    (p_event_id || ':hand-off', p_run, 'stage_claimed', 'hand-off', r.fence,
     jsonb_build_object('stage', p_next, 'attempt', r.attempt, 'from', 'running', 'hand_off', true));
  RETURN jsonb_build_object('stale', false, 'run', to_jsonb(r), 'steps', done_steps);
END $$;

-- The holder's first write names it on a handed-off run.
DROP FUNCTION rv_checkpoint(uuid, text, bigint, text, jsonb, text);
CREATE FUNCTION rv_checkpoint(p_run uuid, p_stage text, p_fence bigint, p_step text, p_result jsonb, p_event_id text,
                              p_worker text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN jsonb_build_object('duplicate', true); END IF;
  PERFORM rv_check_fence(r, p_fence);
  PERFORM rv_check_holder(r, p_worker);
  IF r.worker_id IS NULL AND p_worker IS NOT NULL THEN
    UPDATE runs SET worker_id = p_worker WHERE id = p_run RETURNING * INTO r;
  END IF;
  UPDATE run_stages SET steps = steps || jsonb_build_object(p_step, coalesce(p_result, 'null'::jsonb)),
                        worker_id = coalesce(worker_id, p_worker)
    WHERE run_id = p_run AND stage = p_stage;
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, 'step_done', coalesce(r.worker_id, 'worker'), p_fence,
            jsonb_build_object('stage', p_stage, 'step', p_step));
  RETURN jsonb_build_object('duplicate', false);
END $$;

DROP FUNCTION rv_complete_stage(uuid, text, bigint, jsonb, text, text);
CREATE FUNCTION rv_complete_stage(p_run uuid, p_stage text, p_fence bigint, p_output jsonb, p_next text, p_event_id text,
                                  p_worker text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; holder text;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN to_jsonb(r); END IF;
  PERFORM rv_check_fence(r, p_fence);
  PERFORM rv_check_holder(r, p_worker);
  IF r.status <> 'running' OR r.stage <> p_stage THEN
    RAISE EXCEPTION 'run % is % at %, cannot complete %', p_run, r.status, r.stage, p_stage USING ERRCODE = 'RV409';
  END IF;
  holder := coalesce(p_worker, r.worker_id, 'worker');
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

-- rv_group (015) carries the hand-off and the worker of checkpoints and completions too.
CREATE OR REPLACE FUNCTION rv_group(p_calls jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE c jsonb; a jsonb; r jsonb; out jsonb := '[]';
BEGIN
  FOR c IN SELECT value FROM jsonb_array_elements(p_calls) LOOP
    a := c->'args';
    BEGIN
      CASE c->>'fn'
        WHEN 'rv_claim_stage' THEN
          r := rv_claim_stage(p_run => (a->>'p_run')::uuid, p_stage => a->>'p_stage',
            p_attempt => (a->>'p_attempt')::integer, p_worker => a->>'p_worker', p_event_id => a->>'p_event_id');
        WHEN 'rv_checkpoint' THEN
          r := rv_checkpoint(p_run => (a->>'p_run')::uuid, p_stage => a->>'p_stage', p_fence => (a->>'p_fence')::bigint,
            p_step => a->>'p_step', p_result => NULLIF(a->'p_result', 'null'), p_event_id => a->>'p_event_id',
            p_worker => a->>'p_worker');
        WHEN 'rv_complete_stage' THEN
          r := rv_complete_stage(p_run => (a->>'p_run')::uuid, p_stage => a->>'p_stage',
            p_fence => (a->>'p_fence')::bigint, p_output => NULLIF(a->'p_output', 'null'), p_next => a->>'p_next',
            p_event_id => a->>'p_event_id', p_worker => a->>'p_worker');
        WHEN 'rv_hand_off' THEN
          r := rv_hand_off(p_run => (a->>'p_run')::uuid, p_stage => a->>'p_stage',
            p_fence => (a->>'p_fence')::bigint, p_output => NULLIF(a->'p_output', 'null'), p_next => a->>'p_next',
            p_worker => a->>'p_worker', p_event_id => a->>'p_event_id');
        ELSE
          RAISE EXCEPTION 'rv_group: % is not a grouped call', c->>'fn' USING ERRCODE = 'RV422';
      END CASE;
      out := out || jsonb_build_array(jsonb_build_object('r', r));
    EXCEPTION WHEN OTHERS THEN
      out := out || jsonb_build_array(jsonb_build_object('code', SQLSTATE, 'message', SQLERRM));
    END;
  END LOOP;
  RETURN out;
END $$;

-- A handed-off run's holder is known before its first write by its worker
-- record (current_run, from the heartbeat): unlocking it needs no force.
CREATE OR REPLACE FUNCTION rv_force_unlock_run(p_run uuid, p_operator text, p_reason text, p_force boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; prev runs; why text;
BEGIN
  IF coalesce(trim(p_operator), '') = '' THEN RAISE EXCEPTION 'operator is required' USING ERRCODE = 'RV422'; END IF;
  IF coalesce(trim(p_reason), '') = '' THEN RAISE EXCEPTION 'reason is required' USING ERRCODE = 'RV422'; END IF;
  prev := rv_lock_run(p_run);
  IF prev.status IN ('done','failed','aborted') AND NOT coalesce(p_force, false) THEN
    why := format('run is %s: unlock refused without force', prev.status);
  ELSIF prev.worker_id IS NULL AND prev.status IN ('queued','running','approved') AND NOT coalesce(p_force, false)
        AND NOT EXISTS (SELECT 1 FROM workers WHERE current_run = p_run AND stopped_at IS NULL) THEN
    why := 'run is not locked by any worker (already unlocked?)';
  END IF;
  IF why IS NOT NULL THEN
    INSERT INTO run_events (id, run_id, type, actor, reason, payload)
      VALUES (gen_random_uuid()::text, p_run, 'force_unlock_refused', p_operator, p_reason, jsonb_build_object('why', why, 'force', coalesce(p_force, false)));
    RETURN jsonb_build_object('refused', why, 'run', to_jsonb(prev), 'previous', to_jsonb(prev));
  END IF;
  UPDATE runs SET fence = fence + 1, worker_id = NULL,
                  worker_last_error = format('force unlock by %s: %s', p_operator, p_reason), updated_at = now()
    WHERE id = p_run RETURNING * INTO r;
  INSERT INTO run_events (id, run_id, type, actor, reason, payload)
    VALUES (gen_random_uuid()::text, p_run, 'force_unlock', p_operator, p_reason,
            jsonb_build_object('force', coalesce(p_force, false), 'previous', to_jsonb(prev)));
  RETURN jsonb_build_object('refused', NULL, 'run', to_jsonb(r), 'previous', to_jsonb(prev));
END $$;
