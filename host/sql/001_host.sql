-- host 001: the host daemon's own tables beside the library's: users, their
-- exchange accounts (credentials encrypted by the host), trading pairs and
-- a small key-value store, plus the foreign key from the library's
-- agent_configs.user_id to users.  Run after the library's migrations
-- (sql/*.sql); the ledger is host_schema_migrations.
--
-- Every statement is conditional, so a database created before the host
-- tables moved out of the library (where they already exist, with the same
-- definitions and names) upgrades in place without losing a row.
BEGIN;

CREATE TABLE IF NOT EXISTS host_schema_migrations (
  version    integer     PRIMARY KEY CHECK (version > 0),
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
  id         bigint      PRIMARY KEY,            -- the Telegram user id
  name       text        NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS user_exchanges (
  id         bigserial   PRIMARY KEY,
  user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  exchange   text        NOT NULL CHECK (exchange <> ''),
  api_key    bytea       NOT NULL,               -- nonce || ciphertext || tag
  api_secret bytea       NOT NULL,
  testnet    boolean     NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, user_id)
);
CREATE INDEX IF NOT EXISTS user_exchanges_user_idx ON user_exchanges (user_id);

CREATE TABLE IF NOT EXISTS user_trading_pairs (
  id          bigserial   PRIMARY KEY,
  user_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  exchange_id bigint      NOT NULL,
  symbol      text        NOT NULL CHECK (symbol <> ''),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, symbol),
  -- a pair can only use its owner's exchange account
  FOREIGN KEY (exchange_id, user_id) REFERENCES user_exchanges (id, user_id)
    ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS user_trading_pairs_exchange_idx
  ON user_trading_pairs (exchange_id);

CREATE TABLE IF NOT EXISTS host_kv (
  key        text        PRIMARY KEY CHECK (key <> ''),
  value      text        NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- An agent belongs to a user: deleting the user deletes its agents.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conrelid = 'agent_configs'::regclass
                   AND conname = 'agent_configs_user_id_fkey') THEN
    ALTER TABLE agent_configs ADD CONSTRAINT agent_configs_user_id_fkey
      FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
  END IF;
END
$$;

INSERT INTO host_schema_migrations (version) VALUES (1);
COMMIT;
