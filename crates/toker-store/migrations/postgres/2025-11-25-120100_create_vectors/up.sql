-- Profile vectors and the vocabulary (model) version that produced them (PostgreSQL).

CREATE TABLE vocabularies (
    version TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE profile_vectors (
    profile_id BIGINT PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    vocabulary_version TEXT NOT NULL REFERENCES vocabularies (version),
    -- sparse vector: little-endian u32 feature indices and f32 weights, same length
    indices BYTEA NOT NULL,
    vals BYTEA NOT NULL
);
CREATE INDEX profile_vectors_platform ON profile_vectors (platform, profile_id);
