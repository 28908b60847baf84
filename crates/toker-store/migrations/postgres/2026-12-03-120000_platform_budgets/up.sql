-- Request budgets of the platform apps, shared by every process on this database (workers
-- and API replicas): one row per app and fixed window length, counting the requests sent
-- in the current window (`window_start`, Unix seconds, a multiple of `window_seconds`), and
-- one row with `window_seconds` 0 per app that a platform's rate limit paused, whose
-- `window_start` is the Unix second the pause ends.
CREATE TABLE platform_budgets (
    app TEXT NOT NULL,
    window_seconds BIGINT NOT NULL CHECK (window_seconds >= 0),
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL CHECK (used >= 0),
    PRIMARY KEY (app, window_seconds)
);

-- Requests counted against Toker's own rate limits (per API key, per client address) in
-- the current one-minute window, added up by every API replica, so that the limits hold
-- for the whole service. `key` is a digest of the key id or address, never the address.
CREATE TABLE rate_windows (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    used BIGINT NOT NULL CHECK (used >= 0),
    PRIMARY KEY (scope, key, window_start)
);
