-- 001: the migration ledger.  Every file records its own version here, so
-- `psql -f` of the files in order and arec_pg_migrate() agree.
BEGIN;
CREATE TABLE schema_migrations (
  version    integer     PRIMARY KEY CHECK (version > 0),
  applied_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO schema_migrations (version) VALUES (1);
COMMIT;
