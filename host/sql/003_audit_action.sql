-- host 003: the audit trail by action.  GET /api/audit?action=... (the
-- fleet page asks for the newest agent.takeover events every few seconds)
-- walks this index instead of the whole table, newest first or oldest
-- first.  Run after 002; the ledger is host_schema_migrations.
BEGIN;

CREATE INDEX audit_events_action_idx ON audit_events (action, id);

INSERT INTO host_schema_migrations (version) VALUES (3);
COMMIT;
