-- API keys for toker-api (SQLite). Only a hash of the secret is stored.

CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    label TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
