-- 003: what the host needs beyond the repository: fenced singleton roles
-- (e.g. the Telegram poller) and a small key-value store (the bot's offset).
BEGIN;

CREATE TABLE singleton_roles (
  name       text        PRIMARY KEY CHECK (name <> ''),
  fence      bigint      NOT NULL DEFAULT 0 CHECK (fence >= 0),
  holder     text        NULL,
  claimed_at timestamptz NULL
);

CREATE TABLE host_kv (
  key        text        PRIMARY KEY CHECK (key <> ''),
  value      text        NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO schema_migrations (version) VALUES (3);
COMMIT;
