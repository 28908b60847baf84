-- The durable job queue (PostgreSQL): work handed from the API to `toker worker` processes
-- (refreshes, export imports, vector refits). Workers claim a job with
-- `FOR UPDATE SKIP LOCKED` and hold it by a lease they renew; an expired lease makes the job
-- claimable again. `dedup_key` names a job that must not be queued twice (e.g. an
-- account's planned refresh): it is unique among the jobs not yet finished.

CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,                 -- JSON
    input BYTEA,                           -- an uploaded file, dropped when the job ends
    owner TEXT REFERENCES principals (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL CHECK (max_attempts >= 1),
    run_after TIMESTAMPTZ NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMPTZ,
    progress TEXT,                         -- JSON
    result TEXT,                           -- JSON
    error TEXT,
    dedup_key TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX jobs_claimable ON jobs (state, run_after);
CREATE INDEX jobs_owner ON jobs (owner);
CREATE UNIQUE INDEX jobs_dedup ON jobs (dedup_key) WHERE state IN ('queued', 'running');
