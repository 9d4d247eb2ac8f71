-- Schema version 2: the ledger of throwaway resources (docs/durability.md#nothing-left-behind).
-- A resource (database, container, network, volume, temp directory or file) is recorded here before it is created,
-- with the run, step and attempt that own it and the process that recorded it; the janitor removes those whose owner
-- ended, failed or was interrupted. No foreign key to instances: a row outlives the run it belonged to.

CREATE TABLE throwaway_resources (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    location        TEXT,
    host            TEXT,
    description     TEXT,
    instance_id     TEXT,
    execution_id    TEXT,
    activity_id     TEXT,
    activity_type   TEXT,
    attempt         INTEGER,
    holder_id       TEXT    NOT NULL,
    node_id         TEXT    NOT NULL,
    recorded_at     INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    ended_at        INTEGER,
    ended_by        TEXT,
    reason          TEXT,
    last_error      TEXT,
    failed_removals INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    claimed_until   INTEGER,
    journaled       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ix_throwaway_resources_state ON throwaway_resources (state, recorded_at);
CREATE INDEX ix_throwaway_resources_instance ON throwaway_resources (instance_id, recorded_at) WHERE instance_id IS NOT NULL;

-- The processes that record throwaway resources, renewed while they run (seen_at).
CREATE TABLE throwaway_holders (
    id            TEXT    NOT NULL PRIMARY KEY,
    node_id       TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    pid_namespace TEXT,
    pid           INTEGER NOT NULL,
    started_at    INTEGER NOT NULL,
    seen_at       INTEGER NOT NULL
) WITHOUT ROWID;
