-- 002: the library's data model: agents with their wish and ownership
-- (fence, running_on, running_incarnation), the pods' liveness rows, the
-- agents' symbol assignments, their state and the append-only (trimmed)
-- state history.  user_id is an opaque owner id: the library keeps no users
-- (an embedding service may add its own table and a foreign key to it).
BEGIN;

CREATE TABLE agent_configs (
  id                  text        PRIMARY KEY
                      CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$' AND id NOT IN ('start', 'stop')),
  user_id             bigint      NOT NULL,       -- the owner: opaque to the library
  strategy            text        NOT NULL CHECK (strategy <> ''),
  name                text        NOT NULL CHECK (name <> ''),
  is_active           boolean     NOT NULL DEFAULT true,
  is_trading          boolean     NOT NULL DEFAULT false,
  fence               bigint      NOT NULL DEFAULT 0 CHECK (fence >= 0),
  running_on          text        NULL,
  running_incarnation text        NULL,
  created_at          timestamptz NOT NULL DEFAULT now(),
  CHECK ((running_on IS NULL) = (running_incarnation IS NULL))
) WITH (fillfactor = 80);  -- claims and releases update rows in place (HOT)
CREATE INDEX agent_configs_user_idx ON agent_configs (user_id, id);
-- the restore query scans wanted agents only
CREATE INDEX agent_configs_wanted_idx ON agent_configs (id)
  WHERE is_active AND is_trading;
-- (no index on running_on: claims rewrite it, and an index on it would
-- rule out HOT updates; unwanted() looks runners up by id)

CREATE TABLE pods (
  name         text        PRIMARY KEY CHECK (name <> ''),
  incarnation  text        NOT NULL,
  started_at   timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  lease_until  timestamptz NOT NULL
);

CREATE TABLE agent_symbol_assignments (
  agent_id   text          NOT NULL REFERENCES agent_configs (id) ON DELETE CASCADE,
  symbol     text          NOT NULL CHECK (symbol <> ''),
  balance    numeric       NOT NULL CHECK (balance > 0),
  created_at timestamptz   NOT NULL DEFAULT now(),
  UNIQUE (agent_id, symbol)
);

CREATE TABLE agent_states (
  agent_id   text        NOT NULL,
  symbol     text        NOT NULL,
  balance    numeric     NOT NULL,
  memory     jsonb       NOT NULL DEFAULT '{}',
  fence      bigint      NOT NULL DEFAULT 0,     -- of the last accepted write
  hist_n     integer     NOT NULL DEFAULT 0,     -- history rows since the last trim
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (agent_id, symbol),
  FOREIGN KEY (agent_id, symbol)
    REFERENCES agent_symbol_assignments (agent_id, symbol) ON DELETE CASCADE
) WITH (fillfactor = 80);  -- saves update rows in place (HOT)

CREATE TABLE agent_state_history (
  id       bigserial   PRIMARY KEY,
  agent_id text        NOT NULL REFERENCES agent_configs (id) ON DELETE CASCADE,
  symbol   text        NOT NULL,
  fence    bigint      NOT NULL,
  pod      text        NOT NULL,
  balance  numeric     NOT NULL,
  memory   jsonb       NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_state_history_agent_idx
  ON agent_state_history (agent_id, symbol, id);

INSERT INTO schema_migrations (version) VALUES (2);
COMMIT;
