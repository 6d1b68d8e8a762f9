-- 003: singleton roles: work that must run on one pod at a time (a chat
-- bot's poller, a cron) holds a role, fenced by the database.
BEGIN;

CREATE TABLE singleton_roles (
  name       text        PRIMARY KEY CHECK (name <> ''),
  fence      bigint      NOT NULL DEFAULT 0 CHECK (fence >= 0),
  holder     text        NULL,
  claimed_at timestamptz NULL
);

INSERT INTO schema_migrations (version) VALUES (3);
COMMIT;
