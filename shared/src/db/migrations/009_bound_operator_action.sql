-- 009: an operator action bound to the gate or panic it was made for.
--
-- rv_operator_action_at(p_run, p_attempt, p_action, p_actor, p_reason, p_expected, p_event_id) -> as rv_operator_action
--   {run, enqueue, duplicate}. A Telegram button names the run's attempt as
--   well as its status: a run leaves a gate only through refetch and a panic
--   (or failure) only through resume, and both start a new attempt, so
--   (status, attempt) is one gate or one panic. Refused with RV409 when the run
--   is at another attempt: an old message's Approve must not decide a gate
--   opened after a refetch, whose diff nobody has seen. The check and the
--   action share the run's row lock, so an approval racing a refetch cannot
--   land on the gate the refetch opens. A press delivered again after it took
--   effect (and moved the attempt on) stays a duplicate, not a refusal.
CREATE FUNCTION rv_operator_action_at(p_run uuid, p_attempt integer, p_action text, p_actor text, p_reason text DEFAULT NULL,
                                      p_expected text DEFAULT NULL, p_event_id text DEFAULT NULL)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE r runs;
BEGIN
  IF p_attempt IS NULL THEN RAISE EXCEPTION 'attempt is required' USING ERRCODE = 'RV422'; END IF;
  r := rv_lock_run(p_run);
  IF r.attempt <> p_attempt AND (p_event_id IS NULL OR NOT rv_event_seen(p_event_id)) THEN
    RAISE EXCEPTION 'run % is at attempt % now, not % (no longer current)', p_run, r.attempt, p_attempt USING ERRCODE = 'RV409';
  END IF;
  RETURN rv_operator_action(p_run, p_action, p_actor, p_reason, p_expected, p_event_id);
END $$;
