-- DrWorkflows store, PostgreSQL dialect, schema version 3: one running run per definition and platform.
-- "platform" is set only for definitions with customProperties.oneRunPerPlatform (the DR scenarios): the target the
-- run acts on (Docker engine + Compose project). The partial unique index lets at most one such run be Running, also
-- when two nodes insert at the same moment (the second insert waits for the first and then fails); a run leaves the
-- index in the same commit that finishes it, so the platform is free again exactly when it ends.

ALTER TABLE instances ADD COLUMN platform text COLLATE "C";
CREATE UNIQUE INDEX ux_instances_running_platform ON instances (definition_id, platform)
    WHERE status = 'Running' AND platform IS NOT NULL;
CREATE INDEX ix_instances_platform ON instances (platform, definition_id, created_at) WHERE platform IS NOT NULL;
