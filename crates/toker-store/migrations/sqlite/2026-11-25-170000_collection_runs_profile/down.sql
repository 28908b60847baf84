DROP INDEX collection_runs_profile;
ALTER TABLE collection_runs DROP COLUMN profile_id;
