DO $lambdards$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'orders_reader') THEN
    RETURN;
  END IF;
  GRANT "orders_reader" TO CURRENT_USER;
  REASSIGN OWNED BY "orders_reader" TO CURRENT_USER;
  DROP OWNED BY "orders_reader";
  DROP ROLE "orders_reader";
END
$lambdards$;
