-- The durable job queue (SQLite): work handed from the API to `toker worker` processes
-- (refreshes, export imports, vector refits). Workers claim a job in one immediate
-- (single-writer) transaction and hold it by a lease they renew; an expired lease makes the
-- job claimable again. `dedup_key` names a job that must not be queued twice (e.g. an
-- account's planned refresh): it is unique among the jobs not yet finished.

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,                 -- JSON
    input BLOB,                            -- an uploaded file, dropped when the job ends
    owner TEXT REFERENCES principals (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_after TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires_at TEXT,
    progress TEXT,                         -- JSON
    result TEXT,                           -- JSON
    error TEXT,
    dedup_key TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX jobs_claimable ON jobs (state, run_after);
CREATE INDEX jobs_owner ON jobs (owner);
CREATE UNIQUE INDEX jobs_dedup ON jobs (dedup_key) WHERE state IN ('queued', 'running');
