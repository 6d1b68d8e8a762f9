-- 006: agents administered through the library, failed starts in backoff,
-- soft deletion, and leases on the singleton roles.
--   * Agent ids compare in byte order (COLLATE "C") in every column that
--     holds one, so the primary key serves `ORDER BY id` for keyset pages
--     whatever the database's default collation, and rows are locked in the
--     same order everywhere.
--   * params: the agent type's parameters (a JSON object); requires: a
--     capability the running pod must offer.
--   * start_failures / last_error / retry_at: consecutive failed starts,
--     the last reason, and when the next attempt may be made (backoff).
--   * deleted_at: a deleted agent is no longer wanted nor listed; its id
--     stays taken and its history is kept.
--   * singleton_roles.lease_until: a role is held until its holder stops
--     renewing it (on the database clock).
BEGIN;

ALTER TABLE agent_symbol_assignments ALTER COLUMN agent_id TYPE text COLLATE "C";
ALTER TABLE agent_states ALTER COLUMN agent_id TYPE text COLLATE "C";
ALTER TABLE agent_state_history ALTER COLUMN agent_id TYPE text COLLATE "C";
ALTER TABLE agent_configs ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE agent_locks ALTER COLUMN key TYPE text COLLATE "C";

ALTER TABLE agent_configs
  ADD COLUMN params         jsonb       NOT NULL DEFAULT '{}'
                            CHECK (jsonb_typeof(params) = 'object'),
  ADD COLUMN requires       text        NULL CHECK (requires <> ''),
  ADD COLUMN start_failures integer     NOT NULL DEFAULT 0
                            CHECK (start_failures >= 0),
  ADD COLUMN last_error     text        NULL,
  ADD COLUMN retry_at       timestamptz NULL,
  ADD COLUMN deleted_at     timestamptz NULL;

-- Keyset pages: every list query walks an index in id order.  By owner:
-- agent_configs_user_idx (user_id, id); wanted agents:
-- agent_configs_wanted_idx; agents in backoff: the partial index below;
-- otherwise the primary key.  (Still no index on running_on: see 002.)
CREATE INDEX agent_configs_backoff_idx ON agent_configs (id)
  WHERE start_failures > 0;

ALTER TABLE singleton_roles ADD COLUMN lease_until timestamptz NULL;

INSERT INTO schema_migrations (version) VALUES (6);
COMMIT;
