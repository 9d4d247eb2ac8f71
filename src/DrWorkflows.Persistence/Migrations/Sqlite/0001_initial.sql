-- DrWorkflows store, SQLite dialect, schema version 1.
-- Times are INTEGER unix epoch milliseconds (UTC): sortable, and range queries are plain integer comparisons.
-- Booleans are INTEGER 0/1. JSON documents are TEXT written with DrWorkflows' JSON settings.

CREATE TABLE definitions (
    id                 TEXT    NOT NULL PRIMARY KEY,
    definition_id      TEXT    NOT NULL,
    version            INTEGER NOT NULL,
    name               TEXT,
    description        TEXT,
    is_latest          INTEGER NOT NULL,
    is_published       INTEGER NOT NULL,
    is_readonly        INTEGER NOT NULL,
    usable_as_activity INTEGER NOT NULL,
    origin             TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    json               TEXT    NOT NULL
);
CREATE INDEX ix_definitions_definition_id ON definitions (definition_id, version);

CREATE TABLE instances (
    id                    TEXT    NOT NULL PRIMARY KEY,
    definition_id         TEXT    NOT NULL,
    definition_version_id TEXT    NOT NULL,
    version               INTEGER NOT NULL,
    name                  TEXT,
    correlation_id        TEXT,
    parent_instance_id    TEXT,
    status                TEXT    NOT NULL,
    sub_status            TEXT    NOT NULL,
    incident_count        INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    finished_at           INTEGER,
    revision              INTEGER NOT NULL,
    state                 TEXT    NOT NULL
);
CREATE INDEX ix_instances_created ON instances (created_at, id);
CREATE INDEX ix_instances_definition ON instances (definition_id, created_at);
CREATE INDEX ix_instances_correlation ON instances (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX ix_instances_parent ON instances (parent_instance_id) WHERE parent_instance_id IS NOT NULL;
CREATE INDEX ix_instances_runnable ON instances (status, sub_status, updated_at);

-- The bookmark index of each run, rewritten from WorkflowState.Bookmarks on every commit.
-- Bookmark ids are only unique within a run, so the key is (instance_id, position in the state's list).
CREATE TABLE bookmarks (
    instance_id   TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    id            TEXT    NOT NULL,
    execution_id  TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    key           TEXT,
    activity_type TEXT    NOT NULL,
    node_id       TEXT    NOT NULL,
    resume_at     INTEGER,
    created_at    INTEGER NOT NULL,
    payload       TEXT,
    PRIMARY KEY (instance_id, position)
) WITHOUT ROWID;
CREATE INDEX ix_bookmarks_name_key ON bookmarks (name, key);
CREATE INDEX ix_bookmarks_resume_at ON bookmarks (resume_at) WHERE resume_at IS NOT NULL;
CREATE INDEX ix_bookmarks_id ON bookmarks (id);

-- Append-only journal; "entry" is the whole JournalEntry as JSON, the other columns are for queries.
CREATE TABLE journal (
    instance_id   TEXT    NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    sequence      INTEGER NOT NULL,
    timestamp     INTEGER NOT NULL,
    event_name    TEXT    NOT NULL,
    execution_id  TEXT,
    node_id       TEXT,
    activity_type TEXT,
    actor         TEXT,
    entry         TEXT    NOT NULL,
    PRIMARY KEY (instance_id, sequence)
) WITHOUT ROWID;

-- Execution leases: which node runs an instance, and until when.
CREATE TABLE leases (
    instance_id TEXT    NOT NULL PRIMARY KEY,
    owner       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL
) WITHOUT ROWID;

-- Cron and recurring-timer firings: one row per slot, claimed once.
CREATE TABLE schedule_slots (
    schedule_id TEXT    NOT NULL,
    slot        INTEGER NOT NULL,
    owner       TEXT,
    claimed_at  INTEGER,
    instance_id TEXT,
    PRIMARY KEY (schedule_id, slot)
) WITHOUT ROWID;
