-- 014: the video index's, the run report's and housekeeping's database work as
-- SQL functions, so the media store (shared/src/store/media-store.ts) serves
-- them through either adapter (pg or supabase RPC); until now they were SQL in
-- TypeScript on the pg pool, which a Supabase deployment does not have. Each
-- returns jsonb. rv_close_to_public_roles (008) grants them to service_role only.

-- The whole video index (every artifacts row), for `index refresh`, `orphans`
-- and `clean --zombies`. Takes nothing. Returns [artifacts row] ordered by
-- run, stage, segment and kind.
CREATE FUNCTION rv_video_index() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.run_id, a.stage, a.segment, a.kind), '[]') FROM artifacts a
$$;

-- Whether the index names a file, by its path or (a moved state dir) by its
-- file name. Takes the absolute path and the file name. Returns a boolean.
CREATE FUNCTION rv_video_index_names(p_path text, p_name text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT to_jsonb(EXISTS (SELECT 1 FROM artifacts WHERE path = p_path OR right(path, length(p_name) + 1) = '/' || p_name))
$$;

-- `index refresh` indexes a final file the index lacks, proven by its name
-- and bytes; the audit event (actor cli:index-refresh) is written only when
-- the entry is. Takes the run, segment, path, sha256, size, whether the name
-- is legacy (no sha8) and the event id. Returns {id}: the new entry's id, null
-- when a render indexed the segment meanwhile.
CREATE FUNCTION rv_video_index_add(p_run uuid, p_segment integer, p_path text, p_sha text, p_bytes bigint, p_legacy boolean,
                                   p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE v_id bigint;
BEGIN
  INSERT INTO artifacts (run_id, stage, segment, kind, path, sha256, bytes, meta)
    VALUES (p_run, 'render', p_segment, 'video', p_path, p_sha, p_bytes, jsonb_build_object('indexed_by', 'index-refresh', 'legacy', p_legacy))
    ON CONFLICT (run_id, stage, segment, kind) DO NOTHING RETURNING id INTO v_id;
  IF v_id IS NOT NULL THEN
    INSERT INTO run_events (id, run_id, type, actor, payload)
      VALUES (p_event_id, p_run, 'artifact_indexed', 'cli:index-refresh',
              jsonb_build_object('stage', 'render', 'segment', p_segment, 'kind', 'video', 'path', p_path,
                                 'sha8', left(p_sha, 8), 'legacy', p_legacy))
      ON CONFLICT (id) DO NOTHING;
  END IF;
  RETURN jsonb_build_object('id', v_id);
END $$;

-- `index refresh` re-points an entry whose file was renamed (same bytes); a
-- legacy name is recorded as accepted (meta.legacy). Nothing changes when the
-- entry moved meanwhile (its path or sha256 is no longer p_from / p_sha).
-- Takes the entry id, the new path, the old one, the sha256, legacy and the
-- event id. Returns {relinked}.
CREATE FUNCTION rv_video_index_relink(p_id bigint, p_path text, p_from text, p_sha text, p_legacy boolean, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE a artifacts;
BEGIN
  UPDATE artifacts SET path = p_path,
         meta = meta || jsonb_build_object('relinked_from', p_from) || CASE WHEN p_legacy THEN '{"legacy": true}'::jsonb ELSE '{}' END
   WHERE id = p_id AND path = p_from AND sha256 = p_sha RETURNING * INTO a;
  IF a.id IS NULL THEN RETURN jsonb_build_object('relinked', false); END IF;
  INSERT INTO run_events (id, run_id, type, actor, payload)
    VALUES (p_event_id, a.run_id, 'artifact_relinked', 'cli:index-refresh',
            jsonb_build_object('segment', a.segment, 'from', p_from, 'to', p_path, 'sha8', left(p_sha, 8), 'legacy', p_legacy))
    ON CONFLICT (id) DO NOTHING;
  RETURN jsonb_build_object('relinked', true);
END $$;

-- Stores what ffprobe said of an entry. A failed probe keeps the last good
-- metadata beside the error. Takes the entry id and {status: ok | probe_failed,
-- error, duration_s, container, video_codec, audio_codec, width, height}.
-- Returns {saved} (false: no such entry). RV422 on another status.
CREATE FUNCTION rv_video_index_save_probe(p_id bigint, p_probe jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN
  IF p_probe->>'status' = 'probe_failed' THEN
    UPDATE artifacts SET probe_status = 'probe_failed', probe_error = p_probe->>'error', probed_at = now() WHERE id = p_id;
  ELSIF p_probe->>'status' = 'ok' THEN
    UPDATE artifacts SET probe_status = 'ok', probe_error = NULL, probed_at = now(),
           duration_s = coalesce((p_probe->>'duration_s')::double precision, duration_s),
           container = p_probe->>'container', video_codec = p_probe->>'video_codec', audio_codec = p_probe->>'audio_codec',
           width = (p_probe->>'width')::integer, height = (p_probe->>'height')::integer
     WHERE id = p_id;
  ELSE
    RAISE EXCEPTION 'probe status must be ok or probe_failed, got %', p_probe->>'status' USING ERRCODE = 'RV422';
  END IF;
  RETURN jsonb_build_object('saved', FOUND);
END $$;

-- The doctor's view of the probes. Takes nothing. Returns {probe_failed
-- (entries whose last probe failed), streak (latest probes that failed in a
-- row), latest_error (of the newest probe; null when it passed or none ran)}.
CREATE FUNCTION rv_video_index_probe_health() RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH p AS (SELECT probe_status, probe_error, row_number() OVER (ORDER BY probed_at DESC, id DESC) AS n
               FROM artifacts WHERE probed_at IS NOT NULL)
  SELECT jsonb_build_object(
    'probe_failed', (SELECT count(*) FROM artifacts WHERE probe_status = 'probe_failed'),
    'streak', coalesce((SELECT min(n) FROM p WHERE probe_status = 'ok'), (SELECT count(*) + 1 FROM p)) - 1,
    'latest_error', (SELECT probe_error FROM p WHERE n = 1))
$$;

-- Runs whose id starts with p_prefix (a run8, a typed prefix), oldest first.
-- Takes the prefix (lowercase) and how many to return. Returns [id].
CREATE FUNCTION rv_runs_by_id_prefix(p_prefix text, p_limit integer) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(id ORDER BY created_at), '[]')
  FROM (SELECT id::text AS id, created_at FROM runs WHERE left(id::text, length(p_prefix)) = p_prefix
         ORDER BY created_at LIMIT greatest(p_limit, 1)) r
$$;

-- What `rayvault report` and the dashboard's timeline are made of. Takes the
-- run. Returns {run: {id, status, stage, product, output} or null when there
-- is no such run, ledger: [{provider, credits, n}] by provider, videos:
-- [{segment, path, sha256, duration_s, meta}] (rendered segments), stages:
-- [{stage, status, attempt, worker_id, started_at, finished_at}]}.
CREATE FUNCTION rv_run_report_rows(p_run uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'run', (SELECT jsonb_build_object('id', id, 'status', status, 'stage', stage, 'product', product, 'output', output)
              FROM runs WHERE id = p_run),
    'ledger', coalesce((SELECT jsonb_agg(jsonb_build_object('provider', provider, 'credits', credits, 'n', n) ORDER BY provider)
                          FROM (SELECT provider, sum(credits)::float8 AS credits, count(*) AS n FROM credits_ledger
                                 WHERE run_id = p_run GROUP BY provider) l), '[]'),
    'videos', coalesce((SELECT jsonb_agg(jsonb_build_object('segment', segment, 'path', path, 'sha256', sha256,
                                                            'duration_s', duration_s, 'meta', meta) ORDER BY segment)
                          FROM artifacts WHERE run_id = p_run AND stage = 'render' AND kind = 'video' AND segment IS NOT NULL), '[]'),
    'stages', coalesce((SELECT jsonb_agg(jsonb_build_object('stage', stage, 'status', status, 'attempt', attempt, 'worker_id', worker_id,
                                                            'started_at', started_at, 'finished_at', finished_at) ORDER BY started_at)
                          FROM run_stages WHERE run_id = p_run), '[]'))
$$;

-- `clean`: the status and fence of the runs that own staging dirs and
-- checkpoint files. Takes run ids. Returns [{id, status, fence}] of those known.
CREATE FUNCTION rv_runs_status(p_ids uuid[]) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'status', status, 'fence', fence)), '[]') FROM runs WHERE id = ANY (p_ids)
$$;

-- `clean --hard` refuses while a run at voice or render still reads the cache.
-- Takes nothing. Returns [{id, status}] of unfinished runs at those stages.
CREATE FUNCTION rv_runs_reading_cache() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'status', status)), '[]')
  FROM runs WHERE status NOT IN ('done', 'aborted') AND stage IN ('voice', 'render')
$$;

-- Worker ids heartbeating from another host within p_stale_ms: their pid
-- files are not judged by local pids. Takes this host and the staleness
-- bound in ms. Returns [id].
CREATE FUNCTION rv_workers_alive_elsewhere(p_host text, p_stale_ms double precision) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(id ORDER BY id), '[]') FROM workers
  WHERE stopped_at IS NULL AND host IS DISTINCT FROM p_host AND last_heartbeat_at > now() - make_interval(secs => p_stale_ms / 1000)
$$;

-- `baptism`'s skip check: no finished stage was claimed again, and a done run
-- has every stage done. Takes nothing. Returns {reruns: [{run_id, stage,
-- claims}], unfinished: [run id], done (how many runs are done)}.
CREATE FUNCTION rv_skip_check() RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH finished AS (SELECT run_id, payload->>'stage' AS stage, min(seq) AS seq FROM run_events
                     WHERE type IN ('stage_completed', 'run_done') GROUP BY 1, 2),
  reruns AS (SELECT f.run_id, f.stage, count(*) AS claims FROM finished f
               JOIN run_events e ON e.run_id = f.run_id AND e.type = 'stage_claimed' AND e.payload->>'stage' = f.stage AND e.seq > f.seq
              GROUP BY 1, 2)
  SELECT jsonb_build_object(
    'reruns', coalesce((SELECT jsonb_agg(jsonb_build_object('run_id', run_id, 'stage', stage, 'claims', claims)
                                         ORDER BY run_id, stage) FROM reruns), '[]'),
    'unfinished', coalesce((SELECT jsonb_agg(r.id ORDER BY r.id) FROM runs r WHERE r.status = 'done'
                              AND (SELECT count(*) FROM run_stages s
                                    WHERE s.run_id = r.id AND s.status = 'done' AND s.finished_at IS NOT NULL) < 4), '[]'),
    'done', (SELECT count(*) FROM runs WHERE status = 'done'))
$$;

-- `baptism`'s checkpoint check compares a checkpoint file with the database.
-- Takes the run id as the file spells it (text: a corrupt file is "unknown",
-- not an error). Returns {status, refetch_count, steps: {stage: steps}}, or
-- null when no run has that id.
CREATE FUNCTION rv_run_steps(p_run text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('status', r.status, 'refetch_count', r.refetch_count,
    'steps', coalesce((SELECT jsonb_object_agg(s.stage, s.steps) FROM run_stages s WHERE s.run_id = r.id), '{}'))
  FROM runs r WHERE r.id::text = p_run
$$;
