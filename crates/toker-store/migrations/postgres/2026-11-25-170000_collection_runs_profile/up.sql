-- The profile a collection run wrote (NULL until its first page stored one, and for runs
-- made before this column existed). Deleting a profile deletes its runs, their pages and
-- checkpoints and the marker naming them, so a later incremental run cannot bring a
-- deleted person back from their last collected pages.
ALTER TABLE collection_runs ADD COLUMN profile_id BIGINT;
CREATE INDEX collection_runs_profile ON collection_runs (profile_id);
