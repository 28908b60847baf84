-- People who connected a social account through toker-api (PostgreSQL): the principal, the
-- platform accounts they connected (with their platform tokens, encrypted by the API), their
-- sessions, and the single-use OAuth states of connects in progress.
-- A principal's id is also the `owner` of their profiles. Secrets are never stored in the
-- clear: sessions and states by a SHA-256 of their value, tokens as AEAD ciphertext.

CREATE TABLE principals (
    id TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE principal_accounts (
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    user_id TEXT NOT NULL,                -- the profile's user_id on that platform
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    method TEXT NOT NULL CHECK (method IN ('oauth', 'export')),
    access_token BYTEA,                   -- ciphertext
    access_expires_at TIMESTAMPTZ,
    refresh_token BYTEA,                   -- ciphertext
    refresh_expires_at TIMESTAMPTZ,
    scope TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, user_id)
);
CREATE INDEX principal_accounts_principal ON principal_accounts (principal_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_principal ON sessions (principal_id);

CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY,
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    browser_hash TEXT NOT NULL,
    code_verifier BYTEA,                   -- ciphertext (PKCE)
    principal_id TEXT REFERENCES principals (id) ON DELETE CASCADE,
    session_mode TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
