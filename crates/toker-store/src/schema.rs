//! The Diesel schema, shared by both backends (the migrations under `migrations/sqlite`
//! and `migrations/postgres` create the same tables with each backend's column types).

/// SQL types of our own, mapped to each backend's column type.
pub(crate) mod sql_types {
    /// A UTC instant: `TIMESTAMPTZ` on PostgreSQL, RFC 3339 `TEXT` on SQLite.
    #[derive(diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
    #[diesel(postgres_type(oid = 1184, array_oid = 1185))]
    #[diesel(sqlite_type(name = "Text"))]
    #[allow(unreachable_pub)] // `table!` makes it part of its (crate-private) columns' types
    pub struct UtcTime;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    profiles (id) {
        id -> BigInt,
        platform -> Text,
        user_id -> Text,
        username -> Text,
        user_pseudo -> Nullable<Text>,
        verified -> Nullable<Bool>,
        followers_count -> Nullable<BigInt>,
        following_count -> Nullable<BigInt>,
        likes_count -> Nullable<BigInt>,
        videos_count -> Nullable<BigInt>,
        number_of_comments -> Nullable<BigInt>,
        number_of_likes_on_own_videos -> Nullable<BigInt>,
        number_of_likes -> Nullable<BigInt>,
        number_of_shares -> Nullable<BigInt>,
        liked_count -> BigInt,
        shared_count -> BigInt,
        raw_json -> Text,
        owner -> Nullable<Text>,
        created_at -> UtcTime,
        updated_at -> UtcTime,
        unproven_by -> Text,
        interests -> Text,
    }
}

diesel::table! {
    videos (id) {
        id -> BigInt,
        platform -> Text,
        video_id -> Text,
        likes -> Nullable<BigInt>,
        comments -> Nullable<BigInt>,
        shares -> Nullable<BigInt>,
    }
}

diesel::table! {
    video_tags (video_ref, kind, position) {
        video_ref -> BigInt,
        kind -> Text,
        position -> Integer,
        tag -> Text,
    }
}

diesel::table! {
    profile_videos (profile_id, relation, position) {
        profile_id -> BigInt,
        relation -> Text,
        position -> Integer,
        video_ref -> BigInt,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    vocabularies (version) {
        version -> Text,
        json -> Text,
        created_at -> UtcTime,
    }
}

diesel::table! {
    profile_vectors (profile_id) {
        profile_id -> BigInt,
        platform -> Text,
        vocabulary_version -> Text,
        indices -> Binary,
        vals -> Binary,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    api_keys (key_id) {
        key_id -> Text,
        secret_hash -> Text,
        role -> Text,
        label -> Nullable<Text>,
        created_at -> UtcTime,
        revoked_at -> Nullable<UtcTime>,
    }
}

// Resumable collection (toker-collect): see `crate::checkpoints`.
diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    collection_runs (id) {
        id -> BigInt,
        platform -> Text,
        subject -> Text,
        mode -> Text,
        status -> Text,
        max_items -> Nullable<BigInt>,
        account_json -> Text,
        base_json -> Nullable<Text>,
        result_json -> Nullable<Text>,
        stop_reason -> Nullable<Text>,
        pages -> BigInt,
        items -> BigInt,
        started_at -> UtcTime,
        updated_at -> UtcTime,
        finished_at -> Nullable<UtcTime>,
        profile_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    collection_checkpoints (run_id, listing) {
        run_id -> BigInt,
        listing -> Text,
        state -> Text,
        next_cursor -> Nullable<Text>,
        pages -> Integer,
        items -> BigInt,
        updated_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    collection_pages (run_id, listing, seq) {
        run_id -> BigInt,
        listing -> Text,
        seq -> Integer,
        cursor -> Nullable<Text>,
        next_cursor -> Nullable<Text>,
        item_count -> BigInt,
        raw_json -> Text,
        committed_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    collection_markers (platform, subject) {
        platform -> Text,
        subject -> Text,
        run_id -> BigInt,
        raw_json -> Text,
        completed_at -> UtcTime,
    }
}

// People who connected an account (see `crate::principals`); they join no other table.

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    principals (id) {
        id -> Text,
        created_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    principal_accounts (platform, user_id) {
        platform -> Text,
        user_id -> Text,
        principal_id -> Text,
        username -> Text,
        method -> Text,
        access_token -> Nullable<Binary>,
        access_expires_at -> Nullable<UtcTime>,
        refresh_token -> Nullable<Binary>,
        refresh_expires_at -> Nullable<UtcTime>,
        scope -> Nullable<Text>,
        created_at -> UtcTime,
        updated_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    sessions (token_hash) {
        token_hash -> Text,
        principal_id -> Text,
        created_at -> UtcTime,
        expires_at -> UtcTime,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    oauth_states (state_hash) {
        state_hash -> Text,
        platform -> Text,
        browser_hash -> Text,
        code_verifier -> Nullable<Binary>,
        principal_id -> Nullable<Text>,
        session_mode -> Text,
        created_at -> UtcTime,
        expires_at -> UtcTime,
        consumed_at -> Nullable<UtcTime>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UtcTime;

    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        input -> Nullable<Binary>,
        owner -> Nullable<Text>,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_after -> UtcTime,
        lease_owner -> Nullable<Text>,
        lease_expires_at -> Nullable<UtcTime>,
        progress -> Nullable<Text>,
        result -> Nullable<Text>,
        error -> Nullable<Text>,
        dedup_key -> Nullable<Text>,
        created_at -> UtcTime,
        updated_at -> UtcTime,
        finished_at -> Nullable<UtcTime>,
    }
}

diesel::table! {
    /// Shared request budgets of the platform apps (see `crate::budgets`).
    platform_budgets (app, window_seconds) {
        app -> Text,
        window_seconds -> BigInt,
        window_start -> BigInt,
        used -> BigInt,
    }
}

diesel::table! {
    /// Requests counted against the API's own rate limits by every replica (see
    /// `crate::budgets`).
    rate_windows (scope, key, window_start) {
        scope -> Text,
        key -> Text,
        window_start -> BigInt,
        used -> BigInt,
    }
}

diesel::table! {
    /// The one-row counter of the transactions that changed profile vectors (see
    /// `crate::Store::vector_write_marker`).
    vector_writes (id) {
        id -> Integer,
        writes -> BigInt,
    }
}

diesel::table! {
    /// Diesel's record of the applied migrations (see `crate::migrate`).
    __diesel_schema_migrations (version) {
        version -> Text,
    }
}

diesel::joinable!(profile_videos -> profiles (profile_id));
diesel::joinable!(profile_videos -> videos (video_ref));
diesel::joinable!(video_tags -> videos (video_ref));
diesel::joinable!(profile_vectors -> profiles (profile_id));

diesel::allow_tables_to_appear_in_same_query!(
    profiles,
    videos,
    video_tags,
    profile_videos,
    vocabularies,
    profile_vectors,
    api_keys,
    collection_runs,
    collection_checkpoints,
    collection_pages,
    collection_markers,
);
