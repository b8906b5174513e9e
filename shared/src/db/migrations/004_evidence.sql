-- 004: evidence claims as SQL functions (both store adapters call them).
--
-- rv_record_claims(p_run, p_fence, p_attempt, p_claims, p_event_id) -> {duplicate, claims}
--   Stores one evidence attempt's claims: p_claims is a jsonb array of
--   {field, value, source, tier}. Fenced (RV412 for a stale token) and
--   idempotent: a repeated p_event_id changes nothing, and a repeated
--   (run, attempt, field, source) keeps the newest value. Writes a
--   `claims_recorded` event with the attempt, count and sources.
-- rv_evidence_claims(p_run, p_attempt DEFAULT NULL) -> [{field, value, source, tier, attempt, created_at}]
--   The claims of one attempt (default: the latest one recorded).

CREATE FUNCTION rv_record_claims(p_run uuid, p_fence bigint, p_attempt integer, p_claims jsonb, p_event_id text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs; n integer;
BEGIN
  r := rv_lock_run(p_run);
  IF rv_event_seen(p_event_id) THEN RETURN jsonb_build_object('duplicate', true, 'claims', 0); END IF;
  PERFORM rv_check_fence(r, p_fence);
  IF p_claims IS NULL OR jsonb_typeof(p_claims) <> 'array' THEN
    RAISE EXCEPTION 'claims must be an array of {field, value, source, tier}' USING ERRCODE = 'RV422';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_claims) c
             WHERE coalesce(c->>'field', '') = '' OR c->>'value' IS NULL OR coalesce(c->>'source', '') = ''
                OR jsonb_typeof(c->'tier') <> 'number') THEN
    RAISE EXCEPTION 'every claim needs field, value, source and a numeric tier' USING ERRCODE = 'RV422';
  END IF;
  INSERT INTO evidence_claims (run_id, attempt, field, value, source, tier)
    SELECT p_run, p_attempt, c->>'field', c->>'value', c->>'source', (c->>'tier')::smallint
    FROM jsonb_array_elements(p_claims) c
    ON CONFLICT (run_id, attempt, field, source) DO UPDATE SET value = EXCLUDED.value, tier = EXCLUDED.tier;
  GET DIAGNOSTICS n = ROW_COUNT;
  INSERT INTO run_events (id, run_id, type, actor, fence, payload)
    VALUES (p_event_id, p_run, 'claims_recorded', coalesce(r.worker_id, 'worker'), p_fence,
            jsonb_build_object('attempt', p_attempt, 'claims', n, 'force_refetch', r.force_refetch,
                               'refetch_count', r.refetch_count,
                               'sources', (SELECT coalesce(jsonb_agg(DISTINCT c->>'source'), '[]') FROM jsonb_array_elements(p_claims) c)));
  RETURN jsonb_build_object('duplicate', false, 'claims', n);
END $$;

CREATE FUNCTION rv_evidence_claims(p_run uuid, p_attempt integer DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(jsonb_agg(jsonb_build_object('field', field, 'value', value, 'source', source, 'tier', tier,
                                               'attempt', attempt, 'created_at', created_at)
                            ORDER BY field, tier DESC, source), '[]')
  FROM evidence_claims
  WHERE run_id = p_run
    AND attempt = coalesce(p_attempt, (SELECT max(attempt) FROM evidence_claims WHERE run_id = p_run))
$$;
