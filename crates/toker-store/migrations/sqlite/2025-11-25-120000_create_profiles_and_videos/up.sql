-- Profiles, the videos they liked or shared, and the videos' tags (SQLite).
-- Times are UTC, stored as RFC 3339 text ("2025-11-25T12:00:00.000000Z") so they sort.

CREATE TABLE profiles (
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
    -- how many liked/shared links the profile has (written with the links, in one transaction)
    liked_count BIGINT NOT NULL DEFAULT 0 CHECK (liked_count >= 0),
    shared_count BIGINT NOT NULL DEFAULT 0 CHECK (shared_count >= 0),
    raw_json TEXT NOT NULL,
    owner TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (platform, user_id)
);
CREATE INDEX profiles_platform_id ON profiles (platform, id);
CREATE INDEX profiles_owner_id ON profiles (owner, id);

CREATE TABLE videos (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL CHECK (platform IN ('tiktok', 'instagram', 'x')),
    video_id TEXT NOT NULL,
    -- the latest counts any stored profile reported for the video
    likes BIGINT CHECK (likes >= 0),
    comments BIGINT CHECK (comments >= 0),
    shares BIGINT CHECK (shares >= 0),
    UNIQUE (platform, video_id)
);

CREATE TABLE video_tags (
    video_ref BIGINT NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('category', 'hashtag')),
    position INTEGER NOT NULL CHECK (position >= 0),
    tag TEXT NOT NULL,
    PRIMARY KEY (video_ref, kind, position)
) WITHOUT ROWID;

CREATE TABLE profile_videos (
    profile_id BIGINT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
    relation TEXT NOT NULL CHECK (relation IN ('liked', 'shared')),
    position INTEGER NOT NULL CHECK (position >= 0),
    video_ref BIGINT NOT NULL REFERENCES videos (id),
    PRIMARY KEY (profile_id, relation, position),
    -- a video appears once per list; the index also finds a video's profiles
    UNIQUE (video_ref, profile_id, relation)
) WITHOUT ROWID;
