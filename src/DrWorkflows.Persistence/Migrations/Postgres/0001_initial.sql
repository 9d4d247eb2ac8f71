-- DrWorkflows store, PostgreSQL dialect, schema version 1.
-- Runs with search_path set to the store's own schema (default "drworkflows").
-- Identifiers use the "C" collation so that ordering is ordinal, as in the other stores.
-- Times are timestamptz with millisecond precision (the store truncates before writing).

CREATE TABLE definitions (
    id                 text COLLATE "C" NOT NULL PRIMARY KEY,
    definition_id      text COLLATE "C" NOT NULL,
    version            integer          NOT NULL,
    name               text,
    description        text,
    is_latest          boolean          NOT NULL,
    is_published       boolean          NOT NULL,
    is_readonly        boolean          NOT NULL,
    usable_as_activity boolean          NOT NULL,
    origin             text             NOT NULL,
    created_at         timestamptz      NOT NULL,
    json               text             NOT NULL
);
CREATE INDEX ix_definitions_definition_id ON definitions (definition_id, version);

CREATE TABLE instances (
    id                    text COLLATE "C" NOT NULL PRIMARY KEY,
    definition_id         text COLLATE "C" NOT NULL,
    definition_version_id text COLLATE "C" NOT NULL,
    version               integer          NOT NULL,
    name                  text,
    correlation_id        text COLLATE "C",
    parent_instance_id    text COLLATE "C",
    status                text             NOT NULL,
    sub_status            text             NOT NULL,
    incident_count        integer          NOT NULL,
    created_at            timestamptz      NOT NULL,
    updated_at            timestamptz      NOT NULL,
    finished_at           timestamptz,
    revision              bigint           NOT NULL,
    state                 text             NOT NULL
);
CREATE INDEX ix_instances_created ON instances (created_at, id);
CREATE INDEX ix_instances_definition ON instances (definition_id, created_at);
CREATE INDEX ix_instances_correlation ON instances (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX ix_instances_parent ON instances (parent_instance_id) WHERE parent_instance_id IS NOT NULL;
CREATE INDEX ix_instances_runnable ON instances (status, sub_status, updated_at);

-- The bookmark index of each run, rewritten from WorkflowState.Bookmarks on every commit.
-- Bookmark ids are only unique within a run, so the key is (instance_id, position in the state's list).
CREATE TABLE bookmarks (
    instance_id   text COLLATE "C" NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    position      integer          NOT NULL,
    id            text COLLATE "C" NOT NULL,
    execution_id  text COLLATE "C" NOT NULL,
    name          text COLLATE "C" NOT NULL,
    key           text COLLATE "C",
    activity_type text             NOT NULL,
    node_id       text             NOT NULL,
    resume_at     timestamptz,
    created_at    timestamptz      NOT NULL,
    payload       text,
    PRIMARY KEY (instance_id, position)
);
CREATE INDEX ix_bookmarks_name_key ON bookmarks (name, key);
CREATE INDEX ix_bookmarks_resume_at ON bookmarks (resume_at) WHERE resume_at IS NOT NULL;
CREATE INDEX ix_bookmarks_id ON bookmarks (id);

-- Append-only journal; "entry" is the whole JournalEntry as JSON, the other columns are for queries.
CREATE TABLE journal (
    instance_id   text COLLATE "C" NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
    sequence      bigint           NOT NULL,
    timestamp     timestamptz      NOT NULL,
    event_name    text             NOT NULL,
    execution_id  text COLLATE "C",
    node_id       text,
    activity_type text,
    actor         text,
    entry         text             NOT NULL,
    PRIMARY KEY (instance_id, sequence)
);

-- Execution leases: which node runs an instance, and until when.
CREATE TABLE leases (
    instance_id text COLLATE "C" NOT NULL PRIMARY KEY,
    owner       text             NOT NULL,
    lease_until timestamptz      NOT NULL
);

-- Cron and recurring-timer firings: one row per slot, claimed once across all nodes.
CREATE TABLE schedule_slots (
    schedule_id text COLLATE "C" NOT NULL,
    slot        timestamptz      NOT NULL,
    owner       text,
    claimed_at  timestamptz,
    instance_id text COLLATE "C",
    PRIMARY KEY (schedule_id, slot)
);

-- Fails the surrounding implicit transaction of a commit batch when the optimistic revision check
-- matched no row, so the bookmark and journal writes of the same batch are rolled back with it.
CREATE FUNCTION drw_expect_row(affected bigint, instance_id text, expected_revision bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF affected <> 1 THEN
        RAISE EXCEPTION 'Workflow instance % is not at revision %', instance_id, expected_revision
            USING ERRCODE = 'DWREV';
    END IF;
END
$$;
