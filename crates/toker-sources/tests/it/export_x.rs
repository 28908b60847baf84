//! The X archive importer on every fixture variant, as folder and zip.
#![cfg(feature = "x")]

use crate::export_support;

use std::path::Path;

use export_support::{
    assert_file_missing, assert_profile_eq, assert_warnings, copy_folder, error_text, expected,
    fixture, import_ok, zip_folder,
};
use toker_model::Platform;
use toker_sources::{RawProfile, SourceError, import_export};

const P: &str = "x";

fn import(path: &Path) -> RawProfile {
    import_ok(Platform::X, path)
}

fn import_folder_and_zip(variant: &str) -> RawProfile {
    export_support::import_folder_and_zip(Platform::X, variant, "twitter-2026-11-20-4f1e")
}

#[test]
fn archive_gives_the_expected_profile_from_folder_zip_and_shipped_zip() {
    let raw = import_folder_and_zip("archive");
    assert_profile_eq(&raw.profile, &expected(P, "export_profile.json"));
    assert_eq!(import(&fixture(P, "archive.zip")), raw);
    // Importing again changes nothing.
    assert_eq!(import(&fixture(P, "archive")), raw);
}

#[test]
fn the_2019_layout_with_tweet_js_and_like_parts_gives_the_same_profile() {
    let raw = import_folder_and_zip("archive_2019_layout");
    assert_profile_eq(&raw.profile, &expected(P, "export_profile.json"));
    assert_eq!(raw.raw["likes"].as_array().unwrap().len(), 138);
    assert_eq!(raw.raw["tweets"].as_array().unwrap().len(), 18);
}

#[test]
fn a_deleted_liked_post_is_kept_without_hashtags() {
    let raw = import(&fixture(P, "archive"));
    let deleted = &raw.raw["likes"][40]["like"];
    assert!(
        deleted.get("fullText").is_none(),
        "fixture changed: {deleted}"
    );
    let id = deleted["tweetId"].as_str().unwrap();
    let video = raw
        .profile
        .liked_videos
        .iter()
        .find(|v| v.video_id == id)
        .unwrap();
    assert!(video.hashtags.is_empty());
    assert_eq!(
        (video.likes, video.comments, video.shares),
        (None, None, None)
    );
}

#[test]
fn raw_keeps_account_ids_but_not_the_email() {
    let raw = import(&fixture(P, "archive"));
    assert_eq!(raw.raw["account"]["accountId"], "1487365209458921472");
    assert!(!raw.raw.to_string().contains("jonas.weber@example.com"));
}

#[test]
fn a_truncated_like_js_names_the_file_in_folder_and_zip() {
    let folder = fixture(P, "broken_truncated");
    let err = import_export(Platform::X, &folder).unwrap_err();
    let SourceError::ExportFileInvalid { file, message, .. } = &err else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!(file, "data/like.js");
    assert!(
        message.starts_with("not valid JSON after the `window.YTD.like.part0 =` prefix: EOF"),
        "{message}"
    );
    assert!(
        err.to_string()
            .starts_with(&format!("x export {}: data/like.js: ", folder.display()))
    );

    let tmp = tempfile::tempdir().unwrap();
    let zip = zip_folder(&folder, tmp.path(), "broken.zip", Some("top"));
    let err = error_text(Platform::X, &zip);
    assert!(
        err.contains("broken.zip: top/data/like.js: not valid JSON"),
        "{err}"
    );
}

#[test]
fn a_part_listed_in_the_manifest_but_absent_asks_for_every_zip() {
    let tmp = tempfile::tempdir().unwrap();
    copy_folder(&fixture(P, "archive"), tmp.path());
    let manifest = tmp.path().join("data/manifest.js");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        r#""globalName" : "YTD.like.part0","#,
        r#""globalName" : "YTD.like.part0", "count" : "138" }, { "fileName" : "data/like-part1.js", "globalName" : "YTD.like.part1","#,
    );
    std::fs::write(&manifest, text).unwrap();
    assert_file_missing(
        Platform::X,
        tmp.path(),
        &[
            "no `data/like-part1.js` (listed in data/manifest.js)",
            "several zips",
        ],
    );
}

#[test]
fn an_archive_without_account_js_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    copy_folder(&fixture(P, "archive"), tmp.path());
    std::fs::remove_file(tmp.path().join("data/account.js")).unwrap();
    let err = error_text(Platform::X, tmp.path());
    assert!(err.contains("no `data/account.js` in it"), "{err}");
}

#[test]
fn an_account_without_id_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    copy_folder(&fixture(P, "archive"), tmp.path());
    let account = tmp.path().join("data/account.js");
    let text = std::fs::read_to_string(&account)
        .unwrap()
        .replace(r#""accountId" : "1487365209458921472","#, "");
    std::fs::write(&account, text).unwrap();
    let err = error_text(Platform::X, tmp.path());
    assert!(
        err.ends_with("data/account.js: key `[0].account.accountId`: missing or empty"),
        "{err}"
    );
}

#[test]
fn without_posts_the_post_counts_are_unknown_and_a_like_without_id_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    copy_folder(&fixture(P, "archive_2019_layout"), tmp.path());
    std::fs::remove_file(tmp.path().join("data/tweet.js")).unwrap();
    std::fs::write(
        tmp.path().join("data/like-part2.js"),
        "window.YTD.like.part2 = [ { \"like\" : { \"fullText\" : \"no id #lost\" } },\n\
         { \"like\" : { \"tweetId\" : \"2122419519071006848\" } } ];\n",
    )
    .unwrap();
    let raw = import(tmp.path());
    let p = &raw.profile;
    // 138 + the row without id; the repeated id is one like.
    assert_eq!(p.number_of_likes, Some(139));
    assert_eq!(p.liked_videos.len(), 138);
    assert_eq!(
        (p.videos_count, p.number_of_comments, p.number_of_shares),
        (None, None, None)
    );
    assert_eq!(p.number_of_likes_on_own_videos, None);
    assert!(p.shared_videos.is_empty());
    assert_warnings(&raw, 2, "data/like-part2.js: key `[0]`: no `like.tweetId`");
    assert!(
        raw.warnings
            .messages()
            .nth(1)
            .unwrap()
            .contains("no `data/tweets.js`")
    );
}
