-- Profile vectors and the vocabulary (model) version that produced them (SQLite).

CREATE TABLE vocabularies (
    version TEXT PRIMARY KEY NOT NULL,
    json TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE profile_vectors (
    profile_id INTEGER PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    vocabulary_version TEXT NOT NULL REFERENCES vocabularies (version),
    -- sparse vector: little-endian u32 feature indices and f32 weights, same length
    indices BLOB NOT NULL,
    vals BLOB NOT NULL
);
CREATE INDEX profile_vectors_platform ON profile_vectors (platform, profile_id);
