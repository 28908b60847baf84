-- Resumable collection (toker-collect), SQLite: runs, per-list checkpoints, the pages a run
-- committed, and per person the marker of the last complete run.
-- A run's checkpoint, page and profile are written in one transaction, so a run killed at
-- any point resumes from its last committed page.

CREATE TABLE collection_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    -- the person as asked for, normalised: trimmed, without '@', lower-case
    subject TEXT NOT NULL CHECK (subject <> ''),
    mode TEXT NOT NULL CHECK (mode IN ('full', 'since_last')),
    status TEXT NOT NULL CHECK (status IN ('unfinished', 'complete', 'abandoned', 'rejected')),
    max_items BIGINT CHECK (max_items >= 0),
    -- the account as looked up when the run started (a resumed run does not look it up again)
    account_json TEXT NOT NULL,
    -- the raw profile the run's pages are merged onto (NULL once the run has ended)
    base_json TEXT,
    -- the merged raw profile the run ended with (kept for the latest ended run only)
    result_json TEXT,
    -- why an unfinished run stopped (quota, interruption, error), for the next attempt
    stop_reason TEXT,
    pages BIGINT NOT NULL DEFAULT 0 CHECK (pages >= 0),
    items BIGINT NOT NULL DEFAULT 0 CHECK (items >= 0),
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
);
-- at most one unfinished run per person
CREATE UNIQUE INDEX collection_runs_one_unfinished
    ON collection_runs (platform, subject) WHERE status = 'unfinished';
CREATE INDEX collection_runs_subject ON collection_runs (platform, subject, id);

CREATE TABLE collection_checkpoints (
    run_id BIGINT NOT NULL REFERENCES collection_runs (id) ON DELETE CASCADE,
    listing TEXT NOT NULL CHECK (listing <> ''),
    -- reading: next_cursor is the next page to ask for; the others are final
    state TEXT NOT NULL CHECK (state IN ('reading', 'ended', 'caught_up', 'bounded', 'refused')),
    next_cursor TEXT,
    pages INTEGER NOT NULL CHECK (pages >= 0),
    items BIGINT NOT NULL CHECK (items >= 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, listing)
) WITHOUT ROWID;

CREATE TABLE collection_pages (
    run_id BIGINT NOT NULL REFERENCES collection_runs (id) ON DELETE CASCADE,
    listing TEXT NOT NULL,
    seq INTEGER NOT NULL CHECK (seq >= 1),
    -- the cursor the page was asked for with (NULL: the first page)
    cursor TEXT,
    next_cursor TEXT,
    item_count BIGINT NOT NULL CHECK (item_count >= 0),
    raw_json TEXT NOT NULL,
    committed_at TEXT NOT NULL,
    PRIMARY KEY (run_id, listing, seq)
) WITHOUT ROWID;

CREATE TABLE collection_markers (
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    subject TEXT NOT NULL,
    -- the last run that read every page (or caught up with the marker before it)
    run_id BIGINT NOT NULL REFERENCES collection_runs (id),
    raw_json TEXT NOT NULL,
    completed_at TEXT NOT NULL,
    PRIMARY KEY (platform, subject)
) WITHOUT ROWID;
