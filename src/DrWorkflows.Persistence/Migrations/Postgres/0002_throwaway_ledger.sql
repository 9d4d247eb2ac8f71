-- Schema version 2: the ledger of throwaway resources (docs/durability.md#nothing-left-behind).
-- A resource (database, container, network, volume, temp directory or file) is recorded here before it is created,
-- with the run, step and attempt that own it and the process that recorded it; the janitor removes those whose owner
-- ended, failed or was interrupted. No foreign key to instances: a row outlives the run it belonged to.

CREATE TABLE throwaway_resources (
    id              text COLLATE "C" NOT NULL PRIMARY KEY,
    kind            text             NOT NULL,
    name            text             NOT NULL,
    location        text,
    host            text,
    description     text,
    instance_id     text COLLATE "C",
    execution_id    text COLLATE "C",
    activity_id     text,
    activity_type   text,
    attempt         integer,
    holder_id       text COLLATE "C" NOT NULL,
    node_id         text             NOT NULL,
    recorded_at     timestamptz      NOT NULL,
    state           text             NOT NULL,
    ended_at        timestamptz,
    ended_by        text,
    reason          text,
    last_error      text,
    failed_removals integer          NOT NULL DEFAULT 0,
    claimed_by      text,
    claimed_until   timestamptz,
    journaled       boolean          NOT NULL DEFAULT false
);
CREATE INDEX ix_throwaway_resources_state ON throwaway_resources (state, recorded_at);
CREATE INDEX ix_throwaway_resources_instance ON throwaway_resources (instance_id, recorded_at) WHERE instance_id IS NOT NULL;

-- The processes that record throwaway resources, renewed while they run (seen_at).
CREATE TABLE throwaway_holders (
    id            text COLLATE "C" NOT NULL PRIMARY KEY,
    node_id       text             NOT NULL,
    host          text             NOT NULL,
    pid_namespace text,
    pid           integer          NOT NULL,
    started_at    timestamptz      NOT NULL,
    seen_at       timestamptz      NOT NULL
);
