-- 005: fair sharing and migration across pods:
-- a pod marks its row leaving when it shuts down (the others stop counting
-- it before its agents are released), and an agent may carry a migration
-- hold: until migrate_until only the pod named migrate_to may claim it
-- (while that pod is live and not leaving).
BEGIN;

ALTER TABLE pods ADD COLUMN leaving boolean NOT NULL DEFAULT false;

ALTER TABLE agent_configs
  ADD COLUMN migrate_to    text        NULL,
  ADD COLUMN migrate_until timestamptz NULL;
-- the few agents with a hold, read by every reconcile pass
CREATE INDEX agent_configs_migrating_idx ON agent_configs (id)
  WHERE migrate_to IS NOT NULL;

INSERT INTO schema_migrations (version) VALUES (5);
COMMIT;
