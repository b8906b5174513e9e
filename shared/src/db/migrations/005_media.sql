-- 005: the media stages' writes. rv_record_artifact puts a final file in the
-- video index (artifacts), rv_record_credits writes the credits ledger; both
-- are called through the stage context's fenced `record` (p_run, p_fence and
-- p_event_id; a repeated event id changes nothing) and return jsonb
-- {duplicate}. rv_list_artifacts(p_run) returns the run's artifacts as a jsonb
-- array ordered by stage and segment. Errors: RV404 unknown run, RV412 stale fence.

CREATE FUNCTION rv_record_artifact(p_run uuid, p_fence bigint, p_stage text, p_segment integer, p_kind text,
                                   p_path text, p_sha text, p_bytes bigint, p_duration_s double precision,
                                   p_meta jsonb, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN jsonb_build_object('duplicate', true); END IF;
  PERFORM rv_check_fence(r, p_fence);
  IF p_sha !~ '^[0-9a-f]{64}$' THEN
    RAISE EXCEPTION 'artifact sha256 must be 64 lowercase hex digits, got %', p_sha USING ERRCODE = 'RV422';
  END IF;
  -- One file per (run, stage, segment, kind): a re-render replaces the index entry.
  INSERT INTO artifacts (run_id, stage, segment, kind, path, sha256, bytes, duration_s, meta)
    VALUES (p_run, p_stage, p_segment, p_kind, p_path, p_sha, p_bytes, p_duration_s, coalesce(p_meta, '{}'))
    ON CONFLICT (run_id, stage, segment, kind) DO UPDATE
      SET path = EXCLUDED.path, sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes,
          duration_s = EXCLUDED.duration_s, meta = EXCLUDED.meta, created_at = now();
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, 'artifact_recorded', coalesce(r.worker_id, 'worker'), p_fence,
            jsonb_build_object('stage', p_stage, 'segment', p_segment, 'kind', p_kind, 'path', p_path, 'sha8', left(p_sha, 8)));
  RETURN jsonb_build_object('duplicate', false);
END $$;

CREATE FUNCTION rv_record_credits(p_run uuid, p_fence bigint, p_provider text, p_credits numeric, p_note text, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN jsonb_build_object('duplicate', true); END IF;
  PERFORM rv_check_fence(r, p_fence);
  IF p_credits IS NULL OR p_credits < 0 THEN
    RAISE EXCEPTION 'credits must be zero or more, got %', p_credits USING ERRCODE = 'RV422';
  END IF;
  INSERT INTO credits_ledger (id, run_id, provider, credits, note) VALUES (p_event_id, p_run, p_provider, p_credits, p_note)
    ON CONFLICT (id) DO NOTHING;
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, 'credits_spent', coalesce(r.worker_id, 'worker'), p_fence,
            jsonb_build_object('provider', p_provider, 'credits', p_credits, 'note', p_note));
  RETURN jsonb_build_object('duplicate', false);
END $$;

CREATE FUNCTION rv_list_artifacts(p_run uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.stage, a.segment, a.kind), '[]')
  FROM artifacts a WHERE a.run_id = p_run
$$;
