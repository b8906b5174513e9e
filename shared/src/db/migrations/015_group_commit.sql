-- 015: group commit. Under load, a process's hot-path writes (stage claims,
-- step checkpoints, stage completions) that queue up while one is in flight
-- leave together in one call, one transaction and one commit, instead of one
-- commit each: with fsync on, the commit is most of their cost. Each call is
-- still checked and applied, or refused, on its own: it runs in its own
-- subtransaction, and its error (SQLSTATE and message) is its result alone.
-- The pg adapter (shared/src/store/group-commit.ts) sends a call alone when
-- nothing is in flight, so at low load nothing waits for a batch to fill.
-- rv_close_to_public_roles (008) grants it to service_role only.

-- Takes [{fn, args}] where fn is rv_claim_stage, rv_checkpoint or
-- rv_complete_stage and args its named arguments (jsonb ones as JSON values).
-- Returns one entry per call, in order: {r: its result} or {code, message}.
CREATE FUNCTION rv_group(p_calls jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
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
            p_step => a->>'p_step', p_result => NULLIF(a->'p_result', 'null'), p_event_id => a->>'p_event_id');
        WHEN 'rv_complete_stage' THEN
          r := rv_complete_stage(p_run => (a->>'p_run')::uuid, p_stage => a->>'p_stage',
            p_fence => (a->>'p_fence')::bigint, p_output => NULLIF(a->'p_output', 'null'), p_next => a->>'p_next',
            p_event_id => a->>'p_event_id');
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
