-- 008: nothing of RayVault's is open to PUBLIC or to Supabase's Data API
-- roles. On Supabase, `anon` (the public anon key) and `authenticated` get ALL
-- on every table, sequence and function in `public` by default, so without
-- this anyone holding the anon key could call rv_api_token_create and mint an
-- admin token, or read and write runs directly. Postgres itself grants
-- EXECUTE on every new function to PUBLIC.
--
-- Takes: nothing. Creates rv_close_to_public_roles() and runs it. It:
--   * revokes every privilege of PUBLIC, anon and authenticated (when those
--     roles exist) on each table, view, sequence and function of this schema
--     that the migrating role can manage (extension members are left alone);
--   * turns row-level security on, with no policy, for every table when anon
--     or authenticated exists: a grant that comes back later still shows them
--     no row (the table owner and service_role, which has BYPASSRLS, pass);
--   * grants service_role (when it exists) what the supabase adapter needs:
--     EXECUTE on the functions (they run as the caller) and DML on the tables;
--   * sets the migrating role's default privileges so that objects it creates
--     later are not granted to PUBLIC, anon or authenticated either.
-- Returns nothing. Idempotent: objects already closed are not touched (no
-- table lock taken), so migrate() runs it again after every migration and on
-- every start, closing new objects and any grant that drifted back.
-- RayVault expects a database (Supabase project) of its own: every object of
-- the schema owned by the migrating role is closed, not only RayVault's.

CREATE OR REPLACE FUNCTION rv_close_to_public_roles() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  schema_oid oid := current_schema()::regnamespace::oid;
  -- grantee 0 is PUBLIC in an ACL
  closed_oids oid[] := ARRAY[0::oid] || ARRAY(SELECT oid FROM pg_roles WHERE rolname IN ('anon', 'authenticated'));
  api_roles text := array_to_string(ARRAY(SELECT quote_ident(rolname) FROM pg_roles
                                          WHERE rolname IN ('anon', 'authenticated') ORDER BY rolname), ', ');
  closed text := concat_ws(', ', 'PUBLIC', nullif(api_roles, ''));
  service boolean := EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role');
  o record;
BEGIN
  FOR o IN
    SELECT c.oid, c.oid::regclass AS name, c.relkind, c.relrowsecurity,
           EXISTS (SELECT 1 FROM aclexplode(coalesce(c.relacl, acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::"char", c.relowner))) a
                   WHERE a.grantee = ANY (closed_oids)) AS open
      FROM pg_class c
     WHERE c.relnamespace = schema_oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
       AND pg_has_role(c.relowner, 'USAGE')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
  LOOP
    IF o.relkind = 'S' THEN
      IF o.open THEN EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM %s', o.name, closed); END IF;
      IF service AND NOT (has_sequence_privilege('service_role', o.oid, 'USAGE') AND has_sequence_privilege('service_role', o.oid, 'SELECT')
                          AND has_sequence_privilege('service_role', o.oid, 'UPDATE')) THEN
        EXECUTE format('GRANT USAGE, SELECT, UPDATE ON SEQUENCE %s TO service_role', o.name);
      END IF;
      CONTINUE;
    END IF;
    IF o.open THEN EXECUTE format('REVOKE ALL ON TABLE %s FROM %s', o.name, closed); END IF;
    IF api_roles <> '' AND o.relkind IN ('r', 'p') AND NOT o.relrowsecurity THEN
      EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', o.name);
    END IF;
    IF service AND NOT (has_table_privilege('service_role', o.oid, 'SELECT') AND has_table_privilege('service_role', o.oid, 'INSERT')
                        AND has_table_privilege('service_role', o.oid, 'UPDATE') AND has_table_privilege('service_role', o.oid, 'DELETE')) THEN
      EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO service_role', o.name);
    END IF;
  END LOOP;

  FOR o IN
    SELECT p.oid, p.oid::regprocedure AS name,
           EXISTS (SELECT 1 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a WHERE a.grantee = ANY (closed_oids)) AS open
      FROM pg_proc p
     WHERE p.pronamespace = schema_oid AND p.prokind IN ('f', 'p')
       AND pg_has_role(p.proowner, 'USAGE')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    IF o.open THEN EXECUTE format('REVOKE ALL ON ROUTINE %s FROM %s', o.name, closed); END IF;
    IF service AND NOT has_function_privilege('service_role', o.oid, 'EXECUTE') THEN
      EXECUTE format('GRANT EXECUTE ON ROUTINE %s TO service_role', o.name);
    END IF;
  END LOOP;

  -- Future objects of the migrating role. Supabase's own defaults are set per
  -- schema, so a per-schema REVOKE undoes them; Postgres's EXECUTE to PUBLIC
  -- is a global default and only a global REVOKE undoes it.
  EXECUTE 'ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC';
  IF api_roles <> '' THEN
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON TABLES FROM %s', current_schema(), api_roles);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON SEQUENCES FROM %s', current_schema(), api_roles);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I REVOKE ALL ON FUNCTIONS FROM %s', current_schema(), api_roles);
  END IF;
END $$;

SELECT rv_close_to_public_roles();
