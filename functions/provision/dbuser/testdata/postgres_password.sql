DO $lambdards$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'orders_reader') THEN CREATE ROLE "orders_reader" LOGIN; END IF; END $lambdards$;

COMMENT ON ROLE "orders_reader" IS 'managed by lambdards';

SET LOCAL password_encryption = 'scram-sha-256';

ALTER ROLE "orders_reader" PASSWORD 'test-only';

DO $lambdards$ BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_auth_members m
  JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles r ON r.oid = m.member
  WHERE g.rolname = 'rds_iam' AND r.rolname = 'orders_reader') THEN REVOKE rds_iam FROM "orders_reader"; END IF; END $lambdards$;

GRANT CONNECT ON DATABASE "app" TO "orders_reader";

DO $lambdards$
DECLARE
  r record;
  borrowed name[] := '{}';
BEGIN
  -- Borrow, for this statement only, the privileges of the user and of every lambdards
  -- role with objects or privileges in this database. Roles elsewhere are left out: a
  -- concurrent Drop in another database may remove them, while these cannot be dropped
  -- from anywhere but here, where the advisory lock orders Apply and Drop.
  FOR r IN SELECT o.rolname FROM pg_catalog.pg_roles o
           WHERE pg_catalog.shobj_description(o.oid, 'pg_authid') ~ '^managed by lambdards(; owner .+)?$'
             AND NOT pg_catalog.pg_has_role(current_user, o.oid, 'USAGE')
             AND (o.oid = '"orders_reader"'::regrole OR EXISTS (
                   SELECT FROM pg_catalog.pg_shdepend d
                   WHERE d.refclassid = 'pg_catalog.pg_authid'::regclass AND d.refobjid = o.oid
                     AND d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())))
  LOOP
    EXECUTE format('GRANT %I TO CURRENT_USER', r.rolname);
    borrowed := borrowed || r.rolname;
  END LOOP;

  -- Revoke everything the user holds in this database, except on what it owns.
  FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_catalog.pg_class c
           WHERE c.relowner <> '"orders_reader"'::regrole
             AND '"orders_reader"'::regrole IN (SELECT a.grantee FROM pg_catalog.aclexplode(c.relacl) a)
  LOOP
    EXECUTE format('REVOKE ALL ON %s %s FROM %I',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel, 'orders_reader');
  END LOOP;
  FOR r IN SELECT n.nspname FROM pg_catalog.pg_namespace n
           WHERE n.nspowner <> '"orders_reader"'::regrole
             AND '"orders_reader"'::regrole IN (SELECT a.grantee FROM pg_catalog.aclexplode(n.nspacl) a)
  LOOP
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', r.nspname, 'orders_reader');
  END LOOP;
  FOR r IN SELECT d.defaclrole::regrole AS creator, d.defaclnamespace, d.defaclobjtype
           FROM pg_catalog.pg_default_acl d
           WHERE '"orders_reader"'::regrole IN (SELECT a.grantee FROM pg_catalog.aclexplode(d.defaclacl) a)
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s %s REVOKE ALL ON %s FROM %I',
      r.creator,
      CASE WHEN r.defaclnamespace = 0 THEN '' ELSE 'IN SCHEMA ' || r.defaclnamespace::regnamespace END,
      CASE r.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'
        WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END,
      'orders_reader');
  END LOOP;

  -- Grant what is declared.
  GRANT USAGE ON SCHEMA "public" TO "orders_reader";
  GRANT SELECT ON TABLE "public"."orders" TO "orders_reader";

  -- Give the borrowed privileges back.
  FOR i IN 1 .. coalesce(array_length(borrowed, 1), 0) LOOP
    EXECUTE format('REVOKE %I FROM CURRENT_USER', borrowed[i]);
  END LOOP;

  IF pg_catalog.has_schema_privilege('"orders_reader"'::regrole, '"public"'::regnamespace, 'CREATE') THEN
    RAISE EXCEPTION 'lambdards: % has access read but may still create in schema % through PUBLIC or another role; PostgreSQL 14 and older let PUBLIC create in schema public: run REVOKE CREATE ON SCHEMA % FROM PUBLIC',
      'orders_reader', 'public', quote_ident('public');
  END IF;
END
$lambdards$;
