-- 006: the ops API's tokens, its audit log and its reads, as SQL functions so
-- both store adapters (pg, supabase RPC) serve them. Every function returns
-- jsonb; errors use RV404 (unknown token), RV409 (name in use), RV422 (bad input).

-- Bearer tokens: only the sha256 of a random high-entropy token is kept.
CREATE TABLE api_tokens (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (name ~ '^[A-Za-z0-9@._-]{1,64}$'),
  role       text NOT NULL CHECK (role IN ('viewer','operator','admin')),
  hash       text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  revoked_by text
);
-- A name is the actor of every action taken with its token: one live token per name.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- Append-only audit of actions that are not about one run (queues, intake, tokens).
CREATE TABLE ops_events (
  id         text PRIMARY KEY,
  seq        bigserial UNIQUE,
  type       text NOT NULL,
  actor      text NOT NULL,
  reason     text,
  target     text,
  payload    jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ops_events_seq_idx ON ops_events (seq DESC);

CREATE FUNCTION rv_refuse_ops_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ops_events is append-only (% refused)', TG_OP USING ERRCODE = 'RV403';
END $$;
CREATE TRIGGER ops_events_append_only BEFORE UPDATE OR DELETE ON ops_events
  FOR EACH ROW EXECUTE FUNCTION rv_refuse_ops_event_change();
CREATE TRIGGER ops_events_no_truncate BEFORE TRUNCATE ON ops_events
  FOR EACH STATEMENT EXECUTE FUNCTION rv_refuse_ops_event_change();

-- Record one ops event; replaying the same id changes nothing. Returns {duplicate}.
CREATE FUNCTION rv_ops_event(p_event_id text, p_type text, p_actor text, p_reason text, p_target text, p_payload jsonb)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
  INSERT INTO ops_events (id, type, actor, reason, target, payload)
    VALUES (p_event_id, p_type, p_actor, p_reason, p_target, coalesce(p_payload, '{}'))
    ON CONFLICT (id) DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN jsonb_build_object('duplicate', n = 0);
END $$;

CREATE FUNCTION rv_ops_events(p_limit integer DEFAULT 50) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.seq DESC), '[]')
  FROM (SELECT * FROM ops_events ORDER BY seq DESC LIMIT least(greatest(p_limit, 1), 500)) e
$$;

-- Takes the hash, never the token. Returns the token without its hash.
CREATE FUNCTION rv_api_token_create(p_name text, p_role text, p_hash text, p_actor text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE t api_tokens;
BEGIN
  IF p_role NOT IN ('viewer','operator','admin') THEN RAISE EXCEPTION 'role must be viewer, operator or admin' USING ERRCODE = 'RV422'; END IF;
  BEGIN
    INSERT INTO api_tokens (name, role, hash, created_by) VALUES (p_name, p_role, p_hash, p_actor) RETURNING * INTO t;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'a live token named % exists: revoke it first', p_name USING ERRCODE = 'RV409';
  END;
  INSERT INTO ops_events (id, type, actor, target, payload)
    VALUES (gen_random_uuid()::text, 'token_created', p_actor, p_name, jsonb_build_object('role', p_role));
  RETURN to_jsonb(t) - 'hash';
END $$;

-- The live token with this hash as {name, role}, or null.
CREATE FUNCTION rv_api_token_find(p_hash text) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('name', name, 'role', role) FROM api_tokens WHERE hash = p_hash AND revoked_at IS NULL
$$;

CREATE FUNCTION rv_api_token_list() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(to_jsonb(t) - 'hash' ORDER BY t.created_at), '[]') FROM api_tokens t
$$;

CREATE FUNCTION rv_api_token_revoke(p_name text, p_actor text, p_reason text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE t api_tokens;
BEGIN
  UPDATE api_tokens SET revoked_at = now(), revoked_by = p_actor WHERE name = p_name AND revoked_at IS NULL RETURNING * INTO t;
  IF NOT FOUND THEN RAISE EXCEPTION 'no live token named %', p_name USING ERRCODE = 'RV404'; END IF;
  INSERT INTO ops_events (id, type, actor, reason, target, payload)
    VALUES (gen_random_uuid()::text, 'token_revoked', p_actor, p_reason, p_name, jsonb_build_object('role', t.role));
  RETURN to_jsonb(t) - 'hash';
END $$;

-- Runs newest first, filtered by status and/or stage, with their stages. Returns {runs, total}.
CREATE FUNCTION rv_ops_list_runs(p_status text, p_stage text, p_limit integer, p_offset integer)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH hit AS (
    SELECT * FROM runs r WHERE (p_status IS NULL OR r.status = p_status) AND (p_stage IS NULL OR r.stage = p_stage)
  ), page AS (
    SELECT * FROM hit ORDER BY created_at DESC, id LIMIT least(greatest(p_limit, 1), 500) OFFSET greatest(p_offset, 0)
  )
  SELECT jsonb_build_object(
    'total', (SELECT count(*) FROM hit),
    'runs', coalesce((SELECT jsonb_agg(to_jsonb(p) - 'product' - 'input' - 'output' || jsonb_build_object(
        'product_name', p.product->>'name',
        'stages', coalesce((SELECT jsonb_agg(jsonb_build_object('stage', s.stage, 'status', s.status, 'attempt', s.attempt,
                                             'started_at', s.started_at, 'finished_at', s.finished_at)
                                   ORDER BY array_position(ARRAY['evidence','voice','render','qc'], s.stage)) FROM run_stages s WHERE s.run_id = p.id), '[]'))
      ORDER BY p.created_at DESC, p.id) FROM page p), '[]'))
$$;

-- What a run's page shows besides the run itself: claims, artifacts, credits.
CREATE FUNCTION rv_ops_run_extras(p_run uuid) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'claims', coalesce((SELECT jsonb_agg(jsonb_build_object('attempt', attempt, 'field', field, 'value', value, 'source', source, 'tier', tier)
                        ORDER BY attempt, field, tier DESC, source) FROM evidence_claims WHERE run_id = p_run), '[]'),
    'artifacts', coalesce((SELECT jsonb_agg(to_jsonb(a) - 'run_id' ORDER BY a.stage, a.segment, a.kind) FROM artifacts a WHERE a.run_id = p_run), '[]'),
    'credits', jsonb_build_object(
      'total', (SELECT coalesce(sum(credits), 0) FROM credits_ledger WHERE run_id = p_run),
      'entries', coalesce((SELECT jsonb_agg(jsonb_build_object('provider', provider, 'credits', credits, 'note', note, 'at', created_at)
                           ORDER BY created_at) FROM credits_ledger WHERE run_id = p_run), '[]')))
$$;

-- Figures for /metrics: runs by status, open gates, stage durations of the last 24 h.
CREATE FUNCTION rv_ops_metrics() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object(
    'runs_by_status', coalesce((SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM runs GROUP BY status) x), '{}'),
    'gates_open', (SELECT count(*) FROM runs WHERE status = 'waiting_approval'),
    'stage_durations', coalesce((SELECT jsonb_agg(jsonb_build_object('stage', stage, 'count', n, 'p50', p50, 'p95', p95, 'max', mx)) FROM (
        SELECT stage, count(*) AS n,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY d) AS p95, max(d) AS mx
        FROM (SELECT stage, extract(epoch FROM finished_at - started_at) AS d FROM run_stages
              WHERE finished_at IS NOT NULL AND finished_at > now() - interval '24 hours') s
        GROUP BY stage) y), '[]'))
$$;
