-- 012: the runs list searches by product name (case-insensitive substring,
-- % and _ taken literally) or by run id prefix, besides status and stage.
-- Takes: status, stage, limit, offset, search (NULL: no search).
-- Returns {runs, total}, newest first, as 006's version did.
DROP FUNCTION IF EXISTS rv_ops_list_runs(text, text, integer, integer);

CREATE FUNCTION rv_ops_list_runs(p_status text, p_stage text, p_limit integer, p_offset integer, p_search text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql STABLE AS $$
  WITH needle AS (
    SELECT nullif(btrim(p_search), '') AS raw,
           '%' || replace(replace(replace(btrim(p_search), '\', '\\'), '%', '\%'), '_', '\_') || '%' AS pattern
  ), hit AS (
    SELECT r.* FROM runs r, needle n
    WHERE (p_status IS NULL OR r.status = p_status) AND (p_stage IS NULL OR r.stage = p_stage)
      AND (n.raw IS NULL OR r.product->>'name' ILIKE n.pattern OR r.id::text LIKE lower(n.raw) || '%')
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
