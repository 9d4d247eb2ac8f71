-- DrWorkflows store, SQLite dialect, schema version 4: the git commit each workflow version came from.
-- A SHA, or a sentence starting "not in git" saying why there is none; NULL for a version made in the Studio or through
-- the API, and for versions stored before this column (nothing is guessed for them). The audit pack lists it.

ALTER TABLE definitions ADD COLUMN source_commit TEXT;
