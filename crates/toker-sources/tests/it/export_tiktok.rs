//! The TikTok export importer on every fixture variant, as folder, zip and bare file.
#![cfg(feature = "tiktok")]

use crate::export_support;

use std::path::Path;

use export_support::{
    assert_file_missing, assert_profile_eq, assert_warnings, error_text, expected, fixture,
    import_folder_and_zip, import_ok, liked_ids, zip_folder,
};
use serde_json::json;
use toker_model::{Platform, ValidationRules, parse_profile};
use toker_sources::{
    ExportSource, RawProfile, Source, SourceError, SourceKind, UserRef, import_export,
};

const P: &str = "tiktok";

fn import(path: &Path) -> RawProfile {
    import_ok(Platform::TikTok, path)
}

/// The folder, a zip of it with a top folder (as TikTok ships it), and the bare JSON file
/// all give the same profile and the same raw JSON, with no warnings.
fn import_every_way(variant: &str, data_file: &str) -> RawProfile {
    let raw = import_folder_and_zip(Platform::TikTok, variant, "TikTok_Data_1795430000");
    let from_file = import(&fixture(P, variant).join(data_file));
    assert_eq!(from_file, raw, "{variant}: bare file and folder differ");
    raw
}

#[test]
fn activity_layout_gives_the_expected_profile_from_folder_zip_and_shipped_zip() {
    let raw = import_every_way("activity_layout", "user_data.json");
    assert_profile_eq(&raw.profile, &expected(P, "export_profile.json"));
    let shipped = import(&fixture(P, "activity_layout.zip"));
    assert_eq!(shipped, raw);
}

#[test]
fn your_activity_layout_with_lower_case_rows_and_string_summary_gives_the_expected_profile() {
    let raw = import_every_way("your_activity_layout", "user_data_tiktok.json");
    assert_profile_eq(&raw.profile, &expected(P, "export_profile.json"));
}

#[test]
fn likes_and_favorites_layout_adds_the_display_name() {
    let raw = import_every_way("likes_and_favorites_layout", "user_data_tiktok.json");
    assert_profile_eq(
        &raw.profile,
        &expected(P, "export_profile_likes_and_favorites.json"),
    );
}

#[test]
fn few_likes_falls_back_to_row_counts_and_is_rejected_by_validation() {
    let raw = import_every_way("few_likes", "user_data.json");
    let p = &raw.profile;
    assert_eq!(p.user_id, "mila.reyes.new");
    assert_eq!(p.likes_count, None, "likesReceived \"None\" means unknown");
    assert_eq!(p.number_of_likes, Some(12));
    assert_eq!(p.liked_videos.len(), 12);
    // No Activity Summary: 9 comment rows; 6 video share rows (1 repeat), 1 profile share.
    assert_eq!(p.number_of_comments, Some(9));
    assert_eq!(p.number_of_shares, Some(6));
    assert_eq!(p.shared_videos.len(), 5);
    assert_eq!(
        (p.verified, p.followers_count, p.videos_count),
        (None, None, None)
    );

    let err = parse_profile(
        &serde_json::to_value(p).unwrap(),
        &ValidationRules::default(),
    )
    .unwrap_err();
    assert_eq!(err.paths().collect::<Vec<_>>(), ["number_of_likes"]);
}

#[test]
fn favorite_videos_are_not_taken_as_likes_when_the_like_list_is_missing() {
    let path = fixture(P, "broken_missing_key");
    let err = import_export(Platform::TikTok, &path).unwrap_err();
    let SourceError::ExportFileInvalid {
        file, key, message, ..
    } = &err
    else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, "user_data.json");
    assert_eq!(key.as_deref(), Some("Like List"));
    assert!(message.contains("Favorite Videos"), "{message}");
    assert!(
        message.contains("Activity, App Settings, Comment, Profile"),
        "{message}"
    );
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "tiktok export {}: user_data.json: key `Like List`: ",
            path.display()
        )),
        "{shown}"
    );

    // The same error, with the path inside the zip, from a zip.
    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_folder(&path, tmp.path(), "broken.zip", Some("TikTok_Data_1"));
    let err = error_text(Platform::TikTok, &zip);
    assert!(
        err.contains("broken.zip: TikTok_Data_1/user_data.json: key `Like List`"),
        "{err}"
    );
}

fn write_doc(dir: &Path, doc: &serde_json::Value) {
    std::fs::write(dir.join("user_data_tiktok.json"), doc.to_string()).unwrap();
}

fn doc_with_likes(likes: serde_json::Value) -> serde_json::Value {
    json!({
        "Profile": {"Profile Information": {"ProfileMap": {"userName": "someone", "likesReceived": "12"}}},
        "Your Activity": {"Like List": {"ItemFavoriteList": likes}}
    })
}

#[test]
fn a_like_list_that_is_not_an_array_names_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    write_doc(tmp.path(), &doc_with_likes(json!("oops")));
    let err = error_text(Platform::TikTok, tmp.path());
    assert!(
        err.ends_with(
            "user_data_tiktok.json: key `Your Activity.Like List.ItemFavoriteList`: expected an array, found a string"
        ),
        "{err}"
    );
}

#[test]
fn a_profile_without_a_username_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let mut doc = doc_with_likes(json!([]));
    doc["Profile"]["Profile Information"]["ProfileMap"] = json!({"likesReceived": "3"});
    write_doc(tmp.path(), &doc);
    let err = error_text(Platform::TikTok, tmp.path());
    assert!(
        err.contains("key `Profile.Profile Information.ProfileMap.userName`: missing"),
        "{err}"
    );
}

#[test]
fn repeated_and_unreadable_like_rows_are_merged_or_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let link = |id: &str| json!({"date": "2026-01-01 00:00:00", "link": format!("https://www.tiktokv.com/share/video/{id}/")});
    write_doc(
        tmp.path(),
        &doc_with_likes(json!([
            link("7000000000000000002"),
            {"Date": "2026-01-01 00:00:00", "Link": "https://www.tiktok.com/@a/video/7000000000000000001"},
            link("7000000000000000002"),
            {"date": "2026-01-01 00:00:00", "link": "https://example.com/nothing"},
            null
        ])),
    );
    let raw = import_export(Platform::TikTok, tmp.path()).unwrap();
    assert_eq!(
        liked_ids(&raw.profile),
        ["7000000000000000002", "7000000000000000001"]
    );
    // The repeat is one like; the two rows without a video id are likes all the same.
    assert_eq!(raw.profile.number_of_likes, Some(4));
    assert_warnings(&raw, 2, "ItemFavoriteList[3]`: no video id");
    assert_eq!(raw.profile.likes_count, Some(12));
    // No share or comment section, no summary: unknown, not zero.
    assert_eq!(raw.profile.number_of_shares, None);
    assert_eq!(raw.profile.number_of_comments, None);
}

#[test]
fn a_txt_export_is_recognised_and_json_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Likelijst.txt"), "Date: 2026-01-01\n").unwrap();
    assert_file_missing(
        Platform::TikTok,
        tmp.path(),
        &[
            "no `user_data_tiktok.json` or `user_data.json` in it",
            "JSON format",
        ],
    );
}

#[test]
fn raw_keeps_the_rows_read_but_no_contact_details() {
    let raw = import(&fixture(P, "activity_layout"));
    assert_eq!(raw.raw["source"], "export");
    assert_eq!(raw.raw["file"], "user_data.json");
    assert_eq!(raw.raw["like_list"].as_array().unwrap().len(), 130);
    assert_eq!(raw.raw["share_history"].as_array().unwrap().len(), 7);
    assert_eq!(raw.raw["profile"]["likesReceived"], "289400");
    let text = raw.raw.to_string();
    assert!(
        !text.contains("mila.reyes@example.com"),
        "e-mail leaked into raw"
    );
    assert!(!text.contains("14-Mar-1996"), "birth date leaked into raw");
}

#[tokio::test]
async fn export_source_reads_the_path_given_as_user_reference() {
    let source = ExportSource::new(Platform::TikTok).unwrap();
    assert_eq!(source.kind(), SourceKind::Export);
    assert_eq!(source.platform(), Platform::TikTok);
    let path = fixture(P, "activity_layout.zip");
    let raw = source
        .fetch(&UserRef::new(path.to_string_lossy()))
        .await
        .unwrap();
    assert_profile_eq(&raw.profile, &expected(P, "export_profile.json"));
}
