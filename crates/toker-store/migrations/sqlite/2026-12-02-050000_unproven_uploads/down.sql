-- Back to one profile per account (SQLite), without `unproven_by`.

-- Back to one profile per account: an unproven copy goes when its account has a profile
-- others see or an older copy; the rest become their account's profile again, claimed by
-- an export as before.
DELETE FROM profiles
    WHERE unproven_by <> ''
      AND EXISTS (
          SELECT 1 FROM profiles p
          WHERE p.platform = profiles.platform AND p.user_id = profiles.user_id
            AND (p.unproven_by = '' OR p.id < profiles.id)
      );
INSERT INTO principal_accounts (platform, user_id, principal_id, username, method, created_at, updated_at)
    SELECT platform, user_id, owner, username, 'export', created_at, updated_at
    FROM profiles
    WHERE unproven_by <> '' AND owner IN (SELECT id FROM principals)
      AND NOT EXISTS (
          SELECT 1 FROM principal_accounts a
          WHERE a.platform = profiles.platform AND a.user_id = profiles.user_id
      );

CREATE TABLE profiles_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: a deleted profile's id is never reused
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    user_id TEXT NOT NULL,
    username TEXT NOT NULL,
    user_pseudo TEXT,
    verified BOOLEAN,
    followers_count BIGINT CHECK (followers_count >= 0),
    following_count BIGINT CHECK (following_count >= 0),
    likes_count BIGINT CHECK (likes_count >= 0),
    videos_count BIGINT CHECK (videos_count >= 0),
    number_of_comments BIGINT CHECK (number_of_comments >= 0),
    number_of_likes_on_own_videos BIGINT CHECK (number_of_likes_on_own_videos >= 0),
    number_of_likes BIGINT CHECK (number_of_likes >= 0),
    number_of_shares BIGINT CHECK (number_of_shares >= 0),
    liked_count BIGINT NOT NULL DEFAULT 0 CHECK (liked_count >= 0),
    shared_count BIGINT NOT NULL DEFAULT 0 CHECK (shared_count >= 0),
    raw_json TEXT NOT NULL,
    owner TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (platform, user_id)
);
INSERT INTO profiles_new (id, platform, user_id, username, user_pseudo, verified, followers_count, following_count,
    likes_count, videos_count, number_of_comments, number_of_likes_on_own_videos,
    number_of_likes, number_of_shares, liked_count, shared_count, raw_json, owner, created_at,
    updated_at)
    SELECT id, platform, user_id, username, user_pseudo, verified, followers_count, following_count,
    likes_count, videos_count, number_of_comments, number_of_likes_on_own_videos,
    number_of_likes, number_of_shares, liked_count, shared_count, raw_json, owner, created_at,
    updated_at FROM profiles;

-- The tables that reference profiles are set aside and dropped first, so that dropping the
-- old table cascades into nothing; then the new one takes the name and they come back.
-- The AUTOINCREMENT high-water mark moves over, so no deleted id is ever reused.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'profiles_new', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'profiles_new');
UPDATE sqlite_sequence
    SET seq = (SELECT MAX(seq) FROM sqlite_sequence WHERE name IN ('profiles', 'profiles_new'))
    WHERE name = 'profiles_new';
CREATE TABLE keep_profile_videos AS SELECT * FROM profile_videos;
CREATE TABLE keep_profile_vectors AS SELECT * FROM profile_vectors;
DROP TABLE profile_videos;
DROP TABLE profile_vectors;
DROP TABLE profiles;
ALTER TABLE profiles_new RENAME TO profiles;
CREATE INDEX profiles_platform_id ON profiles (platform, id);
CREATE INDEX profiles_owner_id ON profiles (owner, id);

CREATE TABLE profile_videos (
    profile_id BIGINT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    relation TEXT NOT NULL CHECK (relation IN ('liked', 'shared')),
    position INTEGER NOT NULL CHECK (position >= 0),
    video_ref BIGINT NOT NULL REFERENCES videos (id),
    PRIMARY KEY (profile_id, relation, position),
    -- a video appears once per list; the index also finds a video's profiles
    UNIQUE (video_ref, profile_id, relation)
) WITHOUT ROWID;
INSERT INTO profile_videos (profile_id, relation, position, video_ref)
    SELECT profile_id, relation, position, video_ref FROM keep_profile_videos;
DROP TABLE keep_profile_videos;

CREATE TABLE profile_vectors (
    profile_id INTEGER PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    vocabulary_version TEXT NOT NULL REFERENCES vocabularies (version),
    -- sparse vector: little-endian u32 feature indices and f32 weights, same length
    indices BLOB NOT NULL,
    vals BLOB NOT NULL
);
INSERT INTO profile_vectors (profile_id, platform, vocabulary_version, indices, vals)
    SELECT profile_id, platform, vocabulary_version, indices, vals FROM keep_profile_vectors;
DROP TABLE keep_profile_vectors;
CREATE INDEX profile_vectors_platform ON profile_vectors (platform, profile_id);
