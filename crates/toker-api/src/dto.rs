//! The JSON bodies the API sends and reads, with their OpenAPI schemas.
//!
//! The model's own types (`Profile`, `Platform`) carry no OpenAPI derive (the model has no
//! web dependencies); [`ProfileDoc`], [`VideoDoc`] and [`PlatformDoc`] describe their JSON
//! for the document only.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use toker_model::{Platform, Profile};
use toker_processing::Summary;
use toker_store::{ProfileRow, StoredProfile};
use utoipa::ToSchema;

/// A platform name: `tiktok`, `instagram` or `x`, with `twitter` accepted as an alias of
/// `x` and any letter case accepted on input (the data format's rule); answers always use
/// the lowercase name. Written by hand: an `enum` cannot say "any case", so the schema is a
/// pattern that accepts exactly what the API does (no surrounding spaces).
pub(crate) struct PlatformDoc;

/// The pattern of [`PlatformDoc`]: each letter in either case.
const PLATFORM_PATTERN: &str = "^([Tt][Ii][Kk][Tt][Oo][Kk]|[Ii][Nn][Ss][Tt][Aa][Gg][Rr][Aa][Mm]\
                                |[Xx]|[Tt][Ww][Ii][Tt][Tt][Ee][Rr])$";

impl utoipa::PartialSchema for PlatformDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(PLATFORM_PATTERN))
            .examples(["tiktok", "instagram", "x"])
            .description(Some(
                "`tiktok`, `instagram` or `x` (alias `twitter`), any case; answers use the \
                 lowercase name",
            ))
            .into()
    }
}

impl ToSchema for PlatformDoc {}

/// How a connect hands out the new session: `cookie` (the default; also an empty value),
/// an `HttpOnly` session cookie, or `bearer`, the session token in the JSON answer
/// (`session.token`) for non-browser clients. Written by hand: the derive cannot name the
/// empty value.
pub(crate) struct SessionModeDoc;

impl utoipa::PartialSchema for SessionModeDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(["cookie", "bearer", ""]))
            .description(Some("`cookie` (default) or `bearer`"))
            .into()
    }
}

impl ToSchema for SessionModeDoc {}

/// The body of a batch: a JSON array of profiles ([`ProfileDoc`]), or JSON Lines (one
/// record a line, `application/x-ndjson`). Each record is judged on its own: one that is
/// not a valid profile (even one that is not an object) is answered as `rejected`, with its
/// violations, in the 200 report, so the only body refused whole is an empty one (422) or
/// malformed JSON (400). Written by hand: the derive cannot say "anything but `[]`".
pub(crate) struct ProfileBatchDoc;

impl utoipa::PartialSchema for ProfileBatchDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Object, SchemaType, Type};
        let any = Object::with_type(SchemaType::AnyValue);
        AnyOfBuilder::new()
            .item(
                ArrayBuilder::new()
                    .items(utoipa::openapi::Ref::from_schema_name("ProfileDoc"))
                    .min_items(Some(1))
                    .description(Some("Profiles")),
            )
            .item(
                ArrayBuilder::new()
                    .items(any)
                    .min_items(Some(1))
                    .description(Some(
                        "Records that are not valid profiles: each is reported as rejected",
                    )),
            )
            .item(Object::with_type(SchemaType::Array(vec![
                Type::Object,
                Type::String,
                Type::Number,
                Type::Boolean,
                Type::Null,
            ])))
            .description(Some(
                "A non-empty JSON array of profiles, or JSON Lines (one record a line)",
            ))
            .into()
    }
}

impl ToSchema for ProfileBatchDoc {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((
            "ProfileDoc".to_owned(),
            <ProfileDoc as utoipa::PartialSchema>::schema(),
        ));
        ProfileDoc::schemas(schemas);
    }
}

/// A data export archive: the platform's "Download your data" `.zip`, as sent (not empty).
pub(crate) struct ExportArchiveDoc;

impl utoipa::PartialSchema for ExportArchiveDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .content_media_type("application/zip")
            .min_length(Some(1))
            .description(Some("The archive's bytes"))
            .into()
    }
}

impl ToSchema for ExportArchiveDoc {}

/// The characters validation trims (Rust's `char::is_whitespace`), as the body of a
/// regular-expression class that ECMA-262, Python and Rust read alike.
macro_rules! whitespace {
    () => {
        r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// The control characters (Unicode `Cc`) validation refuses, as the body of a class.
macro_rules! controls {
    () => {
        r"\u0000-\u001f\u007f-\u009f"
    };
}

/// Not empty, no whitespace at either end, no control character (`user_id`, `username`).
const TRIMMED: &str = concat!(
    "^[^",
    whitespace!(),
    controls!(),
    "]([^",
    controls!(),
    "]*[^",
    whitespace!(),
    controls!(),
    "])?$"
);
/// At least one character that is not whitespace, no control character (`video_id`).
const NOT_BLANK: &str = concat!(
    "^[^",
    controls!(),
    "]*[^",
    whitespace!(),
    controls!(),
    "][^",
    controls!(),
    "]*$"
);
/// No control character (a category or hashtag).
const NO_CONTROLS: &str = concat!("^[^", controls!(), "]*$");
/// No control character but tab, line feed and carriage return (`user_pseudo`).
const NO_CONTROLS_BUT_SPACING: &str = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]*$";

/// A category or hashtag: any text without control characters.
#[derive(Debug, Serialize)]
pub(crate) struct TagDoc;

impl utoipa::PartialSchema for TagDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(NO_CONTROLS))
            .into()
    }
}

impl ToSchema for TagDoc {}

/// A display name: any text without control characters but tab, line feed and carriage
/// return.
#[derive(Debug, Serialize)]
pub(crate) struct PseudoDoc;

impl utoipa::PartialSchema for PseudoDoc {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(NO_CONTROLS_BUT_SPACING))
            .into()
    }
}

impl ToSchema for PseudoDoc {}

/// A string field of `pattern`, at most the default id length, described.
fn id_schema(pattern: &str, description: &str) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(pattern))
        .max_length(Some(toker_model::ValidationRules::default().max_id_len))
        .description(Some(description))
        .build()
}

fn user_id_schema() -> utoipa::openapi::schema::Object {
    id_schema(
        TRIMMED,
        "The platform's id of the person: at most 256 characters, no whitespace at either end.",
    )
}

fn username_schema() -> utoipa::openapi::schema::Object {
    id_schema(
        TRIMMED,
        "The person's handle: at most 256 characters, no whitespace at either end.",
    )
}

fn video_id_schema() -> utoipa::openapi::schema::Object {
    id_schema(
        NOT_BLANK,
        "The platform's id of the video: not blank, at most 256 characters.",
    )
}

fn interests_schema() -> utoipa::openapi::schema::Array {
    let item = utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(NO_CONTROLS))
        .max_length(Some(toker_model::ValidationRules::default().max_id_len))
        .build();
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(item)
        .max_items(Some(toker_model::MAX_INTERESTS))
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::Array,
            utoipa::openapi::schema::Type::Null,
        ]))
        .description(Some(
            "Interests the platform itself assigns the person, beyond any video (an Instagram \
             export's topics): matched as categories, in the taxonomy's spelling where it has \
             the name. Absent or `null` = none; at most 1,000, each at most 256 characters.",
        ))
        .build()
}

/// A video a person liked or shared. Unknown counts are `null`; a `video_id` appears at
/// most once per list.
#[derive(Debug, Serialize, ToSchema)]
#[allow(dead_code)] // documentation only
pub(crate) struct VideoDoc {
    #[schema(schema_with = video_id_schema)]
    video_id: String,
    /// Content categories (absent = none).
    #[schema(inline)]
    categories: Option<Vec<TagDoc>>,
    /// Hashtags (absent = none).
    #[schema(inline)]
    hashtags: Option<Vec<TagDoc>>,
    /// Likes the video received.
    likes: Option<u64>,
    /// Comments the video received.
    comments: Option<u64>,
    /// Shares the video received.
    shares: Option<u64>,
}

/// Declares [`ProfileDoc`] with the model's counts ([`toker_model::profile_counts!`]), each
/// an integer or `null` described by the model's doc; [`require_likes`] then states the rule
/// of `number_of_likes`.
macro_rules! profile_doc {
    ([ $( $(#[$doc:meta])* $count:ident ),* $(,)? ]) => {
        /// A profile with the field names of Toker's profile format. Counts the source cannot know
        /// are `null` (counts fit a signed 64-bit integer); `number_of_likes` must be present and
        /// at least the server's minimum (100 unless `toker serve` runs with `--min-likes`).
        /// Unknown keys are kept in the stored raw JSON. On input a `platform` key may name the
        /// platform.
        #[derive(Debug, Serialize, ToSchema)]
        #[allow(dead_code)] // documentation only
        pub(crate) struct ProfileDoc {
            #[schema(schema_with = user_id_schema)]
            user_id: String,
            #[schema(schema_with = username_schema)]
            username: String,
            /// The display name.
            #[schema(inline)]
            user_pseudo: Option<PseudoDoc>,
            /// Whether the platform marks the account as verified.
            verified: Option<bool>,
            $( $(#[$doc])* $count: Option<u64>, )*
            /// Videos the person liked (absent or `null` = none).
            liked_videos: Option<Vec<VideoDoc>>,
            /// Videos the person shared (absent or `null` = none).
            shared_videos: Option<Vec<VideoDoc>>,
            #[schema(schema_with = interests_schema)]
            interests: Option<Vec<String>>,
        }
    };
}

toker_model::profile_counts!(profile_doc!());

/// States in `doc`'s [`ProfileDoc`] what validation requires of `number_of_likes`: present,
/// not `null`, at least `min_likes`.
pub(crate) fn require_likes(doc: &mut utoipa::openapi::OpenApi, min_likes: u64) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    let Some(RefOr::T(Schema::Object(profile))) = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("ProfileDoc"))
    else {
        return;
    };
    if let Some(RefOr::T(Schema::Object(likes))) = profile.properties.get_mut("number_of_likes") {
        likes.schema_type = SchemaType::Type(Type::Integer);
        likes.minimum = Some(min_likes.into());
        likes.description = Some(format!(
            "Likes the person gave: at least the server's minimum ({} by default).",
            toker_model::DEFAULT_MIN_LIKES
        ));
    }
    if !profile.required.iter().any(|r| r == "number_of_likes") {
        profile.required.push("number_of_likes".to_owned());
    }
}

/// A stored profile with its id, platform and owner.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProfileResponse {
    /// The profile's id, as in `/v1/profiles/{id}`.
    pub(crate) id: i64,
    #[schema(value_type = PlatformDoc)]
    pub(crate) platform: Platform,
    /// The key id that created it (`null` for profiles imported by the operator).
    pub(crate) owner: Option<String>,
    /// When it was first stored.
    pub(crate) created_at: DateTime<Utc>,
    /// When it was last replaced.
    pub(crate) updated_at: DateTime<Utc>,
    /// The validated, cleaned profile.
    #[schema(value_type = ProfileDoc)]
    pub(crate) profile: Profile,
}

impl From<StoredProfile> for ProfileResponse {
    fn from(p: StoredProfile) -> Self {
        ProfileResponse {
            id: p.id,
            platform: p.platform,
            owner: p.owner,
            created_at: p.created_at,
            updated_at: p.updated_at,
            profile: p.profile,
        }
    }
}

/// One line of a profile listing.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProfileListItem {
    /// The profile's id, as in `/v1/profiles/{id}`.
    pub(crate) id: i64,
    #[schema(value_type = PlatformDoc)]
    pub(crate) platform: Platform,
    /// The platform's id of the person.
    pub(crate) user_id: String,
    /// The person's handle.
    pub(crate) username: String,
    /// Likes the person gave.
    pub(crate) number_of_likes: Option<u64>,
    /// How many liked videos are stored.
    pub(crate) liked_count: u64,
    /// How many shared videos are stored.
    pub(crate) shared_count: u64,
    /// The key id that created it.
    pub(crate) owner: Option<String>,
    /// When it was first stored.
    pub(crate) created_at: DateTime<Utc>,
    /// An unproven upload: private to the person who uploaded it (nobody else sees it or
    /// matches with it) until they prove the account by connecting it with OAuth.
    pub(crate) unproven: bool,
}

impl From<ProfileRow> for ProfileListItem {
    fn from(r: ProfileRow) -> Self {
        ProfileListItem {
            id: r.id,
            platform: r.platform,
            user_id: r.user_id,
            username: r.username,
            number_of_likes: r.number_of_likes,
            liked_count: r.liked_count,
            shared_count: r.shared_count,
            owner: r.owner,
            created_at: r.created_at,
            unproven: r.unproven,
        }
    }
}

/// A page of profiles, in id order.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ProfileList {
    /// The profiles of this page.
    pub(crate) items: Vec<ProfileListItem>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_cursor: Option<String>,
}

/// What happened to one record of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum BatchStatus {
    /// Stored as a new profile.
    Created,
    /// A profile with the same platform and user id is already stored; nothing changed.
    Duplicate,
    /// Not stored: see `violations`.
    Rejected,
}

/// The result of one record of a batch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BatchResult {
    /// The record's 0-based position in the input.
    pub(crate) index: usize,
    /// What happened.
    pub(crate) status: BatchStatus,
    /// `platform:user_id`, when the record got that far.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<String>,
    /// The stored profile's id (for a duplicate: only if the caller may see it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<i64>,
    /// Why a rejected record was not stored.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) violations: Vec<crate::problem::ProblemViolation>,
}

/// Per-record results of a batch, with totals.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct BatchReport {
    /// Records stored as new profiles.
    pub(crate) created: u64,
    /// Records whose profile was already stored.
    pub(crate) duplicates: u64,
    /// Records refused by validation.
    pub(crate) rejected: u64,
    /// One result per record, in input order.
    pub(crate) results: Vec<BatchResult>,
}

/// A name with its weighted count in a summary.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ranked {
    /// The category, or the hashtag with its `#`.
    pub(crate) name: String,
    /// Liked videos count 1, shared ones 2.
    pub(crate) count: u32,
}

fn ranked(list: Vec<(String, u32)>) -> Vec<Ranked> {
    list.into_iter()
        .map(|(name, count)| Ranked { name, count })
        .collect()
}

/// What a profile is about.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SummaryResponse {
    /// The profile's id, as in `/v1/profiles/{id}`.
    pub(crate) id: i64,
    #[schema(value_type = PlatformDoc)]
    pub(crate) platform: Platform,
    /// The person's handle.
    pub(crate) username: String,
    /// The top 5 categories, heaviest first, ties by name.
    pub(crate) top_categories: Vec<Ranked>,
    /// The top 5 hashtags, heaviest first, ties by name.
    pub(crate) top_hashtags: Vec<Ranked>,
    /// Liked videos stored.
    pub(crate) liked_count: usize,
    /// Shared videos stored.
    pub(crate) shared_count: usize,
    /// Distinct categories over all videos.
    pub(crate) distinct_categories: usize,
    /// Distinct hashtags over all videos.
    pub(crate) distinct_hashtags: usize,
    /// The profile's own counts (`null` where the source did not know them).
    pub(crate) counts: BTreeMap<String, Option<u64>>,
}

impl SummaryResponse {
    pub(crate) fn new(stored: &StoredProfile, summary: Summary) -> Self {
        let p = &stored.profile;
        let counts = p
            .counts()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        SummaryResponse {
            id: stored.id,
            platform: stored.platform,
            username: p.username.clone(),
            top_categories: ranked(summary.top_categories),
            top_hashtags: ranked(summary.top_hashtags),
            liked_count: summary.liked_count,
            shared_count: summary.shared_count,
            distinct_categories: summary.distinct_categories,
            distinct_hashtags: summary.distinct_hashtags,
            counts,
        }
    }
}

/// A feature shared by the query and a match.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SharedFeature {
    /// `category` or `hashtag`.
    pub(crate) kind: String,
    /// The category, or the hashtag with its `#`.
    pub(crate) name: String,
    /// Its part of the score (the parts of all shared features sum to the score).
    pub(crate) contribution: f32,
}

/// Another person similar to the query: public fields only.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MatchItem {
    /// The matched profile's id, as in `/v1/profiles/{id}`.
    pub(crate) id: i64,
    #[schema(value_type = PlatformDoc)]
    pub(crate) platform: Platform,
    /// The matched person's handle.
    pub(crate) username: String,
    /// Cosine similarity in (0, 1].
    pub(crate) score: f32,
    /// The features that contributed most, largest first.
    pub(crate) features: Vec<SharedFeature>,
}

/// The profiles most similar to one profile.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MatchesResponse {
    /// The query profile's id.
    pub(crate) id: i64,
    /// The vocabulary version of the vectors used.
    pub(crate) vocabulary_version: String,
    /// The query profile had no stored vector (every profile written through Toker is
    /// stored with one; this is one written by a process without a vectorizer): its
    /// vector was made for this answer with that vocabulary (and is stored at the next
    /// refit).
    pub(crate) vectorized_now: bool,
    /// Best first (ties by id).
    pub(crate) matches: Vec<MatchItem>,
}

/// What the database holds.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatsResponse {
    /// Every stored profile, unproven uploads included.
    pub(crate) profiles: u64,
    /// Profiles per platform.
    pub(crate) by_platform: BTreeMap<String, u64>,
    /// Videos stored, each once per platform and video id however many profiles link to it.
    pub(crate) videos: u64,
    /// Profile → video "liked" links.
    pub(crate) liked_links: u64,
    /// Profile → video "shared" links.
    pub(crate) shared_links: u64,
    /// Distinct tags (categories and hashtags).
    pub(crate) tags: u64,
    /// Profile vectors stored: one per profile once a vocabulary is fitted (each profile
    /// write stores its vector under the stored vocabulary).
    pub(crate) vectors: u64,
    /// The vocabulary version of the stored vectors, if any.
    pub(crate) vocabulary_version: Option<String>,
    /// Profiles created or replaced since the vocabulary was fitted (0 without one).
    pub(crate) changed_since_refit: u64,
    /// The share of the stored profiles created or replaced since the vocabulary was
    /// fitted, 0 to 1 (`null` before the first refit): they have their vectors, but their
    /// new interests count only after a refit.
    pub(crate) drift: Option<f64>,
    /// `drift` is above 0.2: a refit (`POST /v1/vectorize`) is advised.
    pub(crate) refit_advised: bool,
}

impl From<toker_store::Stats> for StatsResponse {
    fn from(s: toker_store::Stats) -> Self {
        let drift = s.drift();
        StatsResponse {
            profiles: s.profiles,
            by_platform: s
                .by_platform
                .into_iter()
                .map(|(p, n)| (p.as_str().to_owned(), n))
                .collect(),
            videos: s.videos,
            liked_links: s.liked_links,
            shared_links: s.shared_links,
            tags: s.tags,
            vectors: s.vectors,
            drift,
            refit_advised: drift.is_some_and(|d| d > toker_store::REFIT_ADVISED_DRIFT),
            changed_since_refit: s.changed_since_refit,
            vocabulary_version: s.vocabulary_version,
        }
    }
}

/// Liveness or readiness.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` (alive) or `ready` (database reachable).
    pub(crate) status: String,
    /// Readiness only: which platforms people can connect, and why others cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) connect: Option<crate::connect::ConnectStatus>,
    /// Readiness only: the job queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) queue: Option<QueueStatus>,
}

/// The job queue as `/readyz` reads it from the job table.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueueStatus {
    /// Jobs waiting for a worker (some may be planned for later).
    pub(crate) queued: u64,
    /// Jobs a worker runs now.
    pub(crate) running: u64,
    /// Jobs whose every attempt failed (dead letters).
    pub(crate) dead: u64,
}
