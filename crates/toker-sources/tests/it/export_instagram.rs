//! The Instagram export importer on every fixture variant, as folder and zip.
#![cfg(feature = "instagram")]

use crate::export_support;

use std::path::Path;

use export_support::{
    assert_file_missing, assert_profile_eq, assert_warnings, copy_folder, error_text, expected,
    fixture, import_folder_and_zip, import_ok, liked_ids,
};
use serde_json::json;
use toker_model::Platform;
use toker_sources::{RawProfile, SourceError, import_export};

const P: &str = "instagram";
const LIKES: &str = "your_instagram_activity/likes/liked_posts.json";

fn import(path: &Path) -> RawProfile {
    import_ok(Platform::Instagram, path)
}

#[test]
fn legacy_export_gives_the_expected_profile_from_folder_zip_and_shipped_zip() {
    let raw = import_folder_and_zip(
        Platform::Instagram,
        "legacy",
        "instagram-lea.cooks-2026-11-20",
    );
    assert_profile_eq(&raw.profile, &expected(P, "export_profile.json"));
    assert_eq!(import(&fixture(P, "legacy.zip")), raw);
}

#[test]
fn newer_export_gives_the_same_profile() {
    let raw = import_folder_and_zip(
        Platform::Instagram,
        "newer",
        "instagram-lea.cooks-2026-11-20",
    );
    // The newer archive also lists the topics Instagram assigns her: her interests, in
    // file order, repaired, each once ("food" repeats "Food").
    assert_eq!(
        raw.profile.interests,
        ["Food", "Baking", "Travel", "Pâtisserie"]
    );
    assert_eq!(raw.raw["topics"], json!(raw.profile.interests));
    let mut without = raw.profile.clone();
    without.interests.clear();
    assert_profile_eq(&without, &expected(P, "export_profile.json"));
}

#[test]
fn topics_come_from_every_topics_file_and_a_broken_one_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    copy_folder(&fixture(P, "legacy"), tmp.path());
    let topics = |label: &str, names: &[&str]| {
        let list: Vec<_> = names
            .iter()
            .map(|n| json!({"string_map_data": {label: {"href": "", "value": n, "timestamp": 0}}}))
            .collect();
        list
    };
    let older = tmp.path().join("your_topics");
    std::fs::create_dir_all(&older).unwrap();
    // An older archive, labels in Italian; the reels' topics beside it.
    std::fs::write(
        older.join("your_topics.json"),
        json!({"topics_your_topics": topics("Nome", &["Sports", " Basketball ", ""])}).to_string(),
    )
    .unwrap();
    std::fs::write(
        older.join("your_reel_topics.json"),
        json!({"topics_your_reel_topics": topics("Name", &["basketball", "Music"])}).to_string(),
    )
    .unwrap();
    let raw = import(tmp.path());
    assert_eq!(raw.profile.interests, ["Sports", "Basketball", "Music"]);
    assert_warnings(&raw, 1, "your_topics.json: topic [2] names no topic");

    // Unreadable: the profile is still the likes, with a warning naming the file.
    std::fs::write(older.join("your_topics.json"), "{ not json").unwrap();
    std::fs::remove_file(older.join("your_reel_topics.json")).unwrap();
    let raw = import(tmp.path());
    assert!(raw.profile.interests.is_empty());
    assert_eq!(
        raw.profile.liked_videos.len(),
        import(&fixture(P, "legacy")).profile.liked_videos.len()
    );
    assert_warnings(
        &raw,
        1,
        "your_topics.json: unreadable, its topics are left out",
    );
}

#[test]
fn mis_encoded_text_is_repaired_in_the_profile_and_the_raw_json() {
    let legacy = import(&fixture(P, "legacy"));
    assert_eq!(legacy.profile.user_pseudo.as_deref(), Some("Léa Martin"));
    assert_eq!(
        legacy.raw["liked_posts"]["likes_media_likes"][0]["string_list_data"][0]["value"],
        "👍"
    );
    let newer = import(&fixture(P, "newer"));
    let owner = &newer.raw["liked_posts"][1]["label_values"][1]["dict"][0]["dict"][1]["value"];
    assert_eq!(owner, "Inès | pâtisserie");
    let text = newer.raw.to_string();
    assert!(!text.contains('\u{00c3}'), "mojibake left in raw");
    assert!(
        !text.contains("lea.martin@example.com"),
        "e-mail leaked into raw"
    );
}

#[test]
fn likes_media_likes_that_is_not_a_list_names_the_file_and_key() {
    let path = fixture(P, "broken_wrong_type");
    let err = import_export(Platform::Instagram, &path).unwrap_err();
    let SourceError::ExportFileInvalid { file, key, .. } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, LIKES);
    assert_eq!(key.as_deref(), Some("likes_media_likes"));
    assert_eq!(
        err.to_string(),
        format!(
            "instagram export {}: {LIKES}: key `likes_media_likes`: expected an array, found an object",
            path.display()
        )
    );

    let tmp = tempfile::tempdir().unwrap();
    let zip = export_support::zip_folder(&path, tmp.path(), "broken.zip", None);
    assert_eq!(
        error_text(Platform::Instagram, &zip),
        format!(
            "instagram export {}: {LIKES}: key `likes_media_likes`: expected an array, found an object",
            zip.display()
        )
    );
}

fn export_with_likes(likes: &serde_json::Value) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_folder(&fixture(P, "legacy"), tmp.path());
    std::fs::write(tmp.path().join(LIKES), likes.to_string()).unwrap();
    tmp
}

#[test]
fn a_string_list_that_is_not_a_list_names_its_index() {
    let tmp = export_with_likes(&json!({"likes_media_likes": [
        {"title": "a", "string_list_data": [{"href": "https://www.instagram.com/p/AAA/"}]},
        {"title": "b", "string_list_data": "nope"}
    ]}));
    let err = error_text(Platform::Instagram, tmp.path());
    assert!(
        err.ends_with(
            "key `likes_media_likes[1].string_list_data`: expected an array, found a string"
        ),
        "{err}"
    );
}

#[test]
fn an_object_without_likes_lists_the_keys_it_has() {
    let tmp = export_with_likes(&json!({"likes_comment_likes": []}));
    let err = error_text(Platform::Instagram, tmp.path());
    assert!(err.contains("key `likes_media_likes`: missing"), "{err}");
    assert!(err.ends_with("keys found: likes_comment_likes"), "{err}");
}

#[test]
fn localised_labels_repeats_and_posts_without_url_are_handled() {
    let tmp = export_with_likes(&json!([
        {"timestamp": 1, "label_values": [
            {"label": "Indirizzo", "href": "https://www.instagram.com/reel/BBB/"},
            {"title": "Proprietario", "dict": []}]},
        {"timestamp": 2, "label_values": [{"label": "URL", "value": "https://www.instagram.com/p/AAA/"}]},
        {"timestamp": 3, "label_values": [{"label": "URL", "value": "https://www.instagram.com/reel/BBB/"}]},
        {"timestamp": 4, "label_values": [{"label": "URL", "value": "https://www.instagram.com/someone"}]}
    ]));
    let raw = import(tmp.path());
    assert_eq!(liked_ids(&raw.profile), ["BBB", "AAA"]);
    // BBB twice is one like; the row without a post URL is still a like.
    assert_eq!(raw.profile.number_of_likes, Some(3));
    assert_warnings(&raw, 1, "key `[3]`: no post URL");
}

#[test]
fn without_personal_information_the_username_comes_from_the_export_name() {
    let tmp = tempfile::tempdir().unwrap();
    let export = tmp.path().join("instagram-lea.cooks-2026-11-20-Xy12");
    copy_folder(
        &fixture(P, "newer/your_instagram_activity"),
        &export.join("your_instagram_activity"),
    );
    let raw = import(&export);
    assert_eq!(raw.profile.user_id, "lea.cooks");
    assert_eq!(raw.profile.user_pseudo, None);
    assert_eq!(raw.profile.number_of_likes, Some(120));
    assert_warnings(&raw, 1, "no personal_information.json");

    let other = tmp.path().join("my-export");
    copy_folder(&export, &other);
    assert_file_missing(
        Platform::Instagram,
        &other,
        &["no `personal_information.json`"],
    );
}

#[test]
fn an_html_export_is_recognised() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("likes")).unwrap();
    std::fs::write(tmp.path().join("likes/liked_posts.html"), "<html></html>").unwrap();
    assert_file_missing(
        Platform::Instagram,
        tmp.path(),
        &["`liked_posts.json`", "HTML export"],
    );
}
