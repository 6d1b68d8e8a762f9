-- host 002: the audit trail.  Every operation of the service layer that
-- changes something (or was refused) is one row: when, who (actor:
-- "api:admin", "api:read", "api:none", "telegram:<user id>"), what
-- (action: "agent.create", "exchange.add", ...), on which agent and user,
-- the outcome ("200", "404 agent not found", ...) and the front end's
-- request id.  Never a secret.  Paged by id (GET /api/audit?after=&limit=);
-- a Telegram user sees the rows of its own user id.  Run after 001; the
-- ledger is host_schema_migrations.
BEGIN;

CREATE TABLE audit_events (
  id         bigserial   PRIMARY KEY,          -- pages walk this index
  time       timestamptz NOT NULL DEFAULT now(),
  actor      text        NOT NULL CHECK (actor <> ''),
  action     text        NOT NULL CHECK (action <> ''),
  agent_id   text        NULL,
  user_id    bigint      NULL,
  result     text        NOT NULL,
  request_id text        NULL
);
CREATE INDEX audit_events_user_idx ON audit_events (user_id, id)
  WHERE user_id IS NOT NULL;

INSERT INTO host_schema_migrations (version) VALUES (2);
COMMIT;
