DO $lambdards$ BEGIN IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'items_owner') THEN CREATE ROLE "items_owner" LOGIN; END IF; END $lambdards$;

COMMENT ON ROLE "items_owner" IS 'managed by lambdards';

ALTER ROLE "items_owner" PASSWORD NULL;

GRANT rds_iam TO "items_owner";

GRANT CONNECT ON DATABASE "app" TO "items_owner";

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
             AND (o.oid = '"items_owner"'::regrole OR EXISTS (
                   SELECT FROM pg_catalog.pg_shdepend d
                   WHERE d.refclassid = 'pg_catalog.pg_authid'::regclass AND d.refobjid = o.oid
                     AND d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())))
  LOOP
    EXECUTE format('GRANT %I TO CURRENT_USER', r.rolname);
    borrowed := borrowed || r.rolname;
  END LOOP;

  -- Revoke everything the user holds in this database, except on what it owns.
  FOR r IN SELECT c.oid::regclass AS rel, c.relkind FROM pg_catalog.pg_class c
           WHERE c.relowner <> '"items_owner"'::regrole
             AND '"items_owner"'::regrole IN (SELECT a.grantee FROM pg_catalog.aclexplode(c.relacl) a)
  LOOP
    EXECUTE format('REVOKE ALL ON %s %s FROM %I',
      CASE r.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel, 'items_owner');
  END LOOP;
  FOR r IN SELECT n.nspname FROM pg_catalog.pg_namespace n
           WHERE n.nspowner <> '"items_owner"'::regrole
             AND '"items_owner"'::regrole IN (SELECT a.grantee FROM pg_catalog.aclexplode(n.nspacl) a)
  LOOP
    EXECUTE format('REVOKE ALL ON SCHEMA %I FROM %I', r.nspname, 'items_owner');
  END LOOP;
  FOR r IN SELECT d.defaclrole::regrole AS creator, d.defaclnamespace, d.defaclobjtype
           FROM pg_catalog.pg_default_acl d
           WHERE '"items_owner"'::regrole IN (SELECT a.grantee FROM pg_catalog.aclexplode(d.defaclacl) a)
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %s %s REVOKE ALL ON %s FROM %I',
      r.creator,
      CASE WHEN r.defaclnamespace = 0 THEN '' ELSE 'IN SCHEMA ' || r.defaclnamespace::regnamespace END,
      CASE r.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS'
        WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END,
      'items_owner');
  END LOOP;

  -- Grant what is declared.
  GRANT USAGE ON SCHEMA "app" TO "items_owner";
  GRANT CREATE ON SCHEMA "app" TO "items_owner";
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "app" TO "items_owner";
  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "app" TO "items_owner";

  -- Cover tables created later by the master user and by lambdards ddl users of the schema.
  FOR r IN SELECT current_user AS creator
           UNION
           SELECT o.rolname FROM pg_catalog.pg_roles o
           WHERE o.oid <> '"items_owner"'::regrole
             AND pg_catalog.shobj_description(o.oid, 'pg_authid') ~ '^managed by lambdards(; owner .+)?$'
             AND EXISTS (SELECT FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
                         WHERE n.oid = '"app"'::regnamespace AND a.grantee = o.oid AND a.privilege_type = 'CREATE')
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I',
      r.creator, 'app', 'items_owner');
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO %I',
      r.creator, 'app', 'items_owner');
  END LOOP;

  -- Tables this user creates: give other lambdards users what the master user's tables give them.
  FOR r IN SELECT a.grantee::regrole AS grantee, d.defaclobjtype,
                  string_agg(a.privilege_type, ', ') AS privileges
           FROM pg_catalog.pg_default_acl d, pg_catalog.aclexplode(d.defaclacl) a
           WHERE d.defaclrole = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
             AND d.defaclnamespace = '"app"'::regnamespace
             AND d.defaclobjtype IN ('r', 'S')
             AND a.grantee <> '"items_owner"'::regrole
             AND pg_catalog.shobj_description(a.grantee, 'pg_authid') ~ '^managed by lambdards(; owner .+)?$'
           GROUP BY a.grantee, d.defaclobjtype
  LOOP
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT %s ON %s TO %s',
      'items_owner', 'app', r.privileges,
      CASE r.defaclobjtype WHEN 'r' THEN 'TABLES' ELSE 'SEQUENCES' END, r.grantee);
  END LOOP;

  -- Give the borrowed privileges back.
  FOR i IN 1 .. coalesce(array_length(borrowed, 1), 0) LOOP
    EXECUTE format('REVOKE %I FROM CURRENT_USER', borrowed[i]);
  END LOOP;
END
$lambdards$;
