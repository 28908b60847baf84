DROP TABLE collection_markers;
DROP TABLE collection_pages;
DROP TABLE collection_checkpoints;
DROP TABLE collection_runs;
