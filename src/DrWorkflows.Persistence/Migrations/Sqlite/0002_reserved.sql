-- Placeholder for schema version 2, which another branch of issue 19 adds.
-- DELETE THIS FILE when that branch's 0002 migration is merged: migrations must be numbered without gaps,
-- and this branch adds 0003.
SELECT 1;
