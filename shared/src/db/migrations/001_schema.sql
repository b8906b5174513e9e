-- 001: tables of the run lifecycle. Postgres is the system of record; Redis
-- only holds queues, leases and short-lived state rebuilt from here.

CREATE TABLE runs (
  id                uuid PRIMARY KEY,
  status            text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued','running','waiting_approval','approved','done','failed','aborted','panic')),
  stage             text NOT NULL DEFAULT 'evidence' CHECK (stage IN ('evidence','voice','render','qc')),
  attempt           integer NOT NULL DEFAULT 1,
  fence             bigint NOT NULL DEFAULT 0,   -- fencing token: only grows
  worker_id         text,
  worker_last_error text,
  panic_kind        text,
  force_refetch     boolean NOT NULL DEFAULT false,
  refetch_count     integer NOT NULL DEFAULT 0,
  product           jsonb NOT NULL,
  input             jsonb NOT NULL DEFAULT '{}',
  output            jsonb NOT NULL DEFAULT '{}',  -- stage name -> stage output
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX runs_status_idx ON runs (status, updated_at);

-- Allowed status changes; the SQL functions consult this table so that every
-- adapter (pg, supabase RPC) enforces the same machine.
CREATE TABLE run_transitions (
  from_status text NOT NULL,
  to_status   text NOT NULL,
  PRIMARY KEY (from_status, to_status)
);
INSERT INTO run_transitions VALUES
  ('queued','running'), ('queued','aborted'),
  ('running','waiting_approval'), ('running','done'), ('running','failed'), ('running','aborted'), ('running','panic'),
  ('waiting_approval','approved'), ('waiting_approval','running'), ('waiting_approval','aborted'), ('waiting_approval','panic'),
  ('approved','running'), ('approved','aborted'),
  ('panic','queued'), ('panic','aborted'),
  ('failed','queued'), ('failed','aborted');

CREATE TABLE run_stages (
  run_id      uuid NOT NULL REFERENCES runs(id),
  stage       text NOT NULL,
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running','done','gated')),
  attempt     integer NOT NULL,
  fence       bigint NOT NULL,
  worker_id   text,
  steps       jsonb NOT NULL DEFAULT '{}',   -- checkpoint: step name -> result
  output      jsonb,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (run_id, stage)
);

-- Append-only audit log; id is the idempotency key of the write that made it.
CREATE TABLE run_events (
  id         text PRIMARY KEY,
  seq        bigserial UNIQUE,
  run_id     uuid NOT NULL REFERENCES runs(id),
  type       text NOT NULL,
  actor      text NOT NULL,
  reason     text,
  fence      bigint,
  payload    jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX run_events_run_idx ON run_events (run_id, seq);

CREATE FUNCTION rv_refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'run_events is append-only (% refused)', TG_OP USING ERRCODE = 'RV403';
END $$;
CREATE TRIGGER run_events_append_only BEFORE UPDATE OR DELETE ON run_events
  FOR EACH ROW EXECUTE FUNCTION rv_refuse_event_change();
CREATE TRIGGER run_events_no_truncate BEFORE TRUNCATE ON run_events
  FOR EACH STATEMENT EXECUTE FUNCTION rv_refuse_event_change();

CREATE TABLE workers (
  id                        text PRIMARY KEY,
  state                     text NOT NULL CHECK (state IN ('active','waiting','panic','idle')),
  queues                    text[] NOT NULL DEFAULT '{}',
  current_run               uuid,
  current_job               text,
  host                      text,
  pid                       integer,
  last_error                text,
  last_heartbeat_at         timestamptz NOT NULL DEFAULT now(),
  last_heartbeat_latency_ms integer,
  started_at                timestamptz NOT NULL DEFAULT now(),
  stopped_at                timestamptz
);

CREATE TABLE evidence_claims (
  id         bigserial PRIMARY KEY,
  run_id     uuid NOT NULL REFERENCES runs(id),
  attempt    integer NOT NULL,
  field      text NOT NULL,
  value      text NOT NULL,
  source     text NOT NULL,
  tier       smallint NOT NULL CHECK (tier BETWEEN 1 AND 5),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, attempt, field, source)
);

-- The video index: every final file, named by its sha8.
CREATE TABLE artifacts (
  id          bigserial PRIMARY KEY,
  run_id      uuid NOT NULL REFERENCES runs(id),
  stage       text NOT NULL,
  segment     integer,
  kind        text NOT NULL,
  path        text NOT NULL,
  sha256      text NOT NULL,
  bytes       bigint NOT NULL,
  duration_s  double precision,
  meta        jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (run_id, stage, segment, kind)
);

CREATE TABLE credits_ledger (
  id         text PRIMARY KEY,          -- idempotency key
  run_id     uuid NOT NULL REFERENCES runs(id),
  provider   text NOT NULL,
  credits    numeric NOT NULL,
  note       text,
  created_at timestamptz NOT NULL DEFAULT now()
);
