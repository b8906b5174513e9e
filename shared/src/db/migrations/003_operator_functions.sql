-- 003: operator actions, force unlock, workers and reads, as SQL functions
-- shared by both store adapters.

CREATE FUNCTION rv_next_stage(p_stage text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE p_stage WHEN 'evidence' THEN 'voice' WHEN 'voice' THEN 'render' WHEN 'render' THEN 'qc' ELSE NULL END
$$;

-- approve | refetch | abort | resume, decided atomically. p_expected (the
-- status a button or page was made for) turns a stale click into RV409.
-- Returns {run, enqueue: {stage, attempt} | null}: the job the caller must add.
CREATE FUNCTION rv_operator_action(p_run uuid, p_action text, p_actor text, p_reason text DEFAULT NULL,
                                   p_expected text DEFAULT NULL, p_event_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; prev text; target text; enq jsonb := NULL;
BEGIN
  IF p_actor IS NULL OR p_actor = '' THEN RAISE EXCEPTION 'actor is required' USING ERRCODE = 'RV422'; END IF;
  r := rv_lock_run(p_run);
  IF p_event_id IS NOT NULL AND rv_event_seen(p_event_id) THEN
    RETURN jsonb_build_object('run', to_jsonb(r), 'enqueue', NULL, 'duplicate', true);
  END IF;
  IF p_expected IS NOT NULL AND r.status <> p_expected THEN
    RAISE EXCEPTION 'run % is % now, not % (stale action)', p_run, r.status, p_expected USING ERRCODE = 'RV409';
  END IF;
  prev := r.status;
  target := CASE p_action WHEN 'approve' THEN 'approved' WHEN 'refetch' THEN 'running'
                          WHEN 'abort' THEN 'aborted' WHEN 'resume' THEN 'queued' END;
  IF target IS NULL THEN RAISE EXCEPTION 'unknown action %', p_action USING ERRCODE = 'RV422'; END IF;
  IF p_action = 'refetch' AND r.status <> 'waiting_approval' THEN
    RAISE EXCEPTION 'refetch needs waiting_approval, run % is %', p_run, r.status USING ERRCODE = 'RV409';
  END IF;
  PERFORM rv_check_transition(r, target);
  IF p_action = 'approve' THEN
    UPDATE run_stages SET status = 'done', finished_at = now() WHERE run_id = p_run AND stage = r.stage;
    UPDATE runs SET status = 'approved', stage = coalesce(rv_next_stage(stage), stage), updated_at = now()
      WHERE id = p_run RETURNING * INTO r;
  ELSIF p_action = 'refetch' THEN
    -- Evidence is collected again from scratch: its checkpoint is dropped.
    UPDATE run_stages SET steps = '{}', status = 'running', finished_at = NULL WHERE run_id = p_run AND stage = 'evidence';
    UPDATE runs SET status = 'running', stage = 'evidence', attempt = attempt + 1, force_refetch = true,
                    refetch_count = refetch_count + 1, updated_at = now()
      WHERE id = p_run RETURNING * INTO r;
  ELSIF p_action = 'abort' THEN
    UPDATE runs SET status = 'aborted', fence = fence + 1, worker_id = NULL, updated_at = now()
      WHERE id = p_run RETURNING * INTO r;
  ELSE -- resume from panic or re-drive a failed run, from its checkpoint
    UPDATE runs SET status = 'queued', attempt = attempt + 1, fence = fence + 1, worker_id = NULL,
                    panic_kind = NULL, updated_at = now()
      WHERE id = p_run RETURNING * INTO r;
  END IF;
  IF p_action <> 'abort' THEN enq := jsonb_build_object('stage', r.stage, 'attempt', r.attempt); END IF;
  INSERT INTO run_events (id, run_id, type, actor, reason, payload)
    VALUES (coalesce(p_event_id, gen_random_uuid()::text), p_run, p_action, p_actor, p_reason,
            jsonb_build_object('from', prev, 'to', r.status, 'force_refetch', r.force_refetch));
  RETURN jsonb_build_object('run', to_jsonb(r), 'enqueue', enq, 'duplicate', false);
END $$;

-- Force-clear a run's lock (the caller also deletes the Redis lease). Bumps
-- the fence so the old holder's writes fail; keeps a forensic snapshot.
-- Refused (and the refusal audited) on done/failed/aborted runs without
-- force, and on a run nobody holds (so two operators racing: one wins).
-- Returns {refused: text|null, run, previous}.
CREATE FUNCTION rv_force_unlock_run(p_run uuid, p_operator text, p_reason text, p_force boolean DEFAULT false)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; prev runs; why text;
BEGIN
  IF coalesce(trim(p_operator), '') = '' THEN RAISE EXCEPTION 'operator is required' USING ERRCODE = 'RV422'; END IF;
  IF coalesce(trim(p_reason), '') = '' THEN RAISE EXCEPTION 'reason is required' USING ERRCODE = 'RV422'; END IF;
  prev := rv_lock_run(p_run);
  IF prev.status IN ('done','failed','aborted') AND NOT coalesce(p_force, false) THEN
    why := format('run is %s: unlock refused without force', prev.status);
  ELSIF prev.worker_id IS NULL AND prev.status IN ('queued','running','approved') AND NOT coalesce(p_force, false) THEN
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

CREATE FUNCTION rv_worker_heartbeat(p_id text, p_state text, p_queues text[], p_current_run uuid, p_current_job text,
                                    p_latency_ms integer, p_host text, p_pid integer, p_last_error text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
  INSERT INTO workers (id, state, queues, current_run, current_job, host, pid, last_error, last_heartbeat_at,
                       last_heartbeat_latency_ms, stopped_at)
  VALUES (p_id, p_state, p_queues, p_current_run, p_current_job, p_host, p_pid, p_last_error, now(), p_latency_ms, NULL)
  ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, queues = EXCLUDED.queues, current_run = EXCLUDED.current_run,
    current_job = EXCLUDED.current_job, host = EXCLUDED.host, pid = EXCLUDED.pid,
    last_error = coalesce(EXCLUDED.last_error, workers.last_error), last_heartbeat_at = now(),
    last_heartbeat_latency_ms = EXCLUDED.last_heartbeat_latency_ms, stopped_at = NULL
  RETURNING jsonb_build_object('id', id)
$$;

CREATE FUNCTION rv_worker_stopped(p_id text) RETURNS jsonb LANGUAGE sql AS $$
  UPDATE workers SET state = 'idle', current_run = NULL, current_job = NULL, stopped_at = now() WHERE id = p_id
  RETURNING jsonb_build_object('id', id)
$$;

CREATE FUNCTION rv_get_run(p_run uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT to_jsonb(r) || jsonb_build_object(
    'stages', coalesce((SELECT jsonb_agg(to_jsonb(s) ORDER BY array_position(ARRAY['evidence','voice','render','qc'], s.stage))
                        FROM run_stages s WHERE s.run_id = r.id), '[]'),
    'events', coalesce((SELECT jsonb_agg(to_jsonb(e) ORDER BY e.seq) FROM run_events e WHERE e.run_id = r.id), '[]'))
  FROM runs r WHERE r.id = p_run
$$;

CREATE FUNCTION rv_list_runs(p_status text DEFAULT NULL, p_limit integer DEFAULT 50, p_offset integer DEFAULT 0)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(x ORDER BY x->>'created_at' DESC), '[]') FROM (
    SELECT to_jsonb(r) - 'product' - 'input' - 'output' || jsonb_build_object('product_name', r.product->>'name') AS x
    FROM runs r WHERE p_status IS NULL OR r.status = p_status
    ORDER BY r.created_at DESC LIMIT least(greatest(p_limit, 1), 500) OFFSET greatest(p_offset, 0)) q
$$;

CREATE FUNCTION rv_list_workers() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(w) || jsonb_build_object(
    'heartbeat_age_ms', (extract(epoch FROM now() - w.last_heartbeat_at) * 1000)::bigint) ORDER BY w.id), '[]')
  FROM workers w
$$;

-- Runs the database says should be moving: the reconciler checks each for a
-- live lease and a live job.
CREATE FUNCTION rv_runs_in_flight() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'status', status, 'stage', stage, 'attempt', attempt,
                                               'worker_id', worker_id, 'updated_at', updated_at)), '[]')
  FROM runs WHERE status IN ('queued','approved','running')
$$;
