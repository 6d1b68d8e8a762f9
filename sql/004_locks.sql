-- 004: the PostgreSQL lock backend (AGENT_LOCK_BACKEND=postgres, lib/pg/lock*.c):
-- per-agent leases with expiry on the database clock, and the pods' lock
-- leases (one per pod incarnation) that back the fast takeover: an agent lease
-- whose holder's pod lease has run out AND whose holder's session advisory
-- lock is free may be taken over before its own expiry.
BEGIN;

CREATE TABLE agent_locks (
  key        text        PRIMARY KEY CHECK (key <> ''),
  value      text        NOT NULL CHECK (value <> ''),
  holder     text        NULL,                   -- "<pod>/<incarnation>" or NULL
  expires_at timestamptz NOT NULL
) WITH (fillfactor = 70);  -- refreshes update rows in place (HOT)

CREATE TABLE lock_pods (
  holder      text        PRIMARY KEY CHECK (holder <> ''),
  lock_key    integer     NOT NULL,              -- pg_advisory_lock(1095910723, lock_key)
  lease_until timestamptz NOT NULL
);

INSERT INTO schema_migrations (version) VALUES (4);
COMMIT;
