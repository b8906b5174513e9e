-- 010: what ffprobe says of each video-index entry (operator manual 001 §13:
-- "meta ausente", "probe_failed"). The render stage fills it when it
-- finalises a segment; `rayvault index refresh` and `maintenance` re-probe.
--
-- artifacts gains:
--   probe_status  'ok' | 'probe_failed', NULL while never probed ("meta missing")
--   probe_error   why the last probe failed (ffprobe's words), NULL when ok
--   probed_at     when the file was last probed
--   container, video_codec, audio_codec, width, height: the last good probe
--   (duration_s, already there, is ffprobe's duration)
--
-- rv_record_artifact takes p_probe jsonb (optional, last): {status, error,
-- container, video_codec, audio_codec, width, height}; given, probed_at is
-- now(). Callers without it (writes spooled before this migration) record an
-- unprobed entry, which the next index refresh probes.

ALTER TABLE artifacts
  ADD COLUMN probe_status text CHECK (probe_status IN ('ok', 'probe_failed')),
  ADD COLUMN probe_error  text,
  ADD COLUMN probed_at    timestamptz,
  ADD COLUMN container    text,
  ADD COLUMN video_codec  text,
  ADD COLUMN audio_codec  text,
  ADD COLUMN width        integer,
  ADD COLUMN height       integer;

-- The doctor reads the latest probes, newest first ("many probe_failed in a row").
CREATE INDEX artifacts_probed_at ON artifacts (probed_at DESC) WHERE probed_at IS NOT NULL;

DROP FUNCTION rv_record_artifact(uuid, bigint, text, integer, text, text, text, bigint, double precision, jsonb, text);

CREATE FUNCTION rv_record_artifact(p_run uuid, p_fence bigint, p_stage text, p_segment integer, p_kind text,
                                   p_path text, p_sha text, p_bytes bigint, p_duration_s double precision,
                                   p_meta jsonb, p_event_id text, p_probe jsonb DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN jsonb_build_object('duplicate', true); END IF;
  PERFORM rv_check_fence(r, p_fence);
  IF p_sha !~ '^[0-9a-f]{64}$' THEN
    RAISE EXCEPTION 'artifact sha256 must be 64 lowercase hex digits, got %', p_sha USING ERRCODE = 'RV422';
  END IF;
  IF p_probe IS NOT NULL AND coalesce(p_probe->>'status', '') NOT IN ('ok', 'probe_failed') THEN
    RAISE EXCEPTION 'artifact probe status must be ok or probe_failed, got %', p_probe->>'status' USING ERRCODE = 'RV422';
  END IF;
  -- One file per (run, stage, segment, kind): a re-render replaces the index entry.
  INSERT INTO artifacts (run_id, stage, segment, kind, path, sha256, bytes, duration_s, meta,
                         probe_status, probe_error, probed_at, container, video_codec, audio_codec, width, height)
    VALUES (p_run, p_stage, p_segment, p_kind, p_path, p_sha, p_bytes, p_duration_s, coalesce(p_meta, '{}'),
            p_probe->>'status', p_probe->>'error', CASE WHEN p_probe IS NULL THEN NULL ELSE now() END,
            p_probe->>'container', p_probe->>'video_codec', p_probe->>'audio_codec',
            (p_probe->>'width')::integer, (p_probe->>'height')::integer)
    ON CONFLICT (run_id, stage, segment, kind) DO UPDATE
      SET path = EXCLUDED.path, sha256 = EXCLUDED.sha256, bytes = EXCLUDED.bytes,
          duration_s = EXCLUDED.duration_s, meta = EXCLUDED.meta, created_at = now(),
          probe_status = EXCLUDED.probe_status, probe_error = EXCLUDED.probe_error, probed_at = EXCLUDED.probed_at,
          container = EXCLUDED.container, video_codec = EXCLUDED.video_codec, audio_codec = EXCLUDED.audio_codec,
          width = EXCLUDED.width, height = EXCLUDED.height;
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, 'artifact_recorded', coalesce(r.worker_id, 'worker'), p_fence,
            jsonb_build_object('stage', p_stage, 'segment', p_segment, 'kind', p_kind, 'path', p_path, 'sha8', left(p_sha, 8),
                               'probe_status', p_probe->>'status'));
  RETURN jsonb_build_object('duplicate', false);
END $$;
