//! The `toker` binary driven as an operator would, on SQLite files in temp dirs (and on the
//! local PostgreSQL when built with the `postgres` feature).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

/// A scratch directory with a database URL in it.
struct Env {
    dir: TempDir,
    database: String,
}

impl Env {
    fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("toker.db").display().to_string();
        Env { dir, database }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `toker --database <db> args…`, with no inherited configuration.
    fn toker(&self, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin("toker").unwrap();
        cmd.env_remove("DATABASE_URL")
            .env_remove("TOKER_LOG")
            .current_dir(self.dir.path())
            .arg("--database")
            .arg(&self.database)
            .args(args);
        cmd
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.toker(args).arg("--json").assert().success();
        serde_json::from_slice(&out.get_output().stdout).unwrap()
    }

    /// How many profiles are stored (none when a rejected command never made the file).
    fn total(&self) -> u64 {
        if !self.database.contains("://") && !Path::new(&self.database).exists() {
            return 0;
        }
        self.json(&["list"])["total"].as_u64().unwrap()
    }
}

fn profile(user_id: &str, likes: i64) -> String {
    serde_json::json!({
        "user_id": user_id, "username": format!("user_{user_id}"), "number_of_likes": likes,
        "liked_videos": [{"video_id": format!("v{user_id}"), "categories": ["music"], "hashtags": ["#Fun"], "likes": 3}],
        "shared_videos": []
    })
    .to_string()
}

fn run_seed_examples(env: &Env) {
    env.toker(&["create", "tiktok"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Created profile 1: tiktok:"));
    env.toker(&["create", "instagram", "--user-id", "custom_user_123"])
        .assert()
        .success()
        .stdout(predicate::str::contains("instagram:custom_user_123"));
    env.toker(&["create", "x"]).assert().success();
    let list = env.toker(&["list"]).assert().success();
    let text = String::from_utf8(list.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Total profiles: 3");
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[1].starts_with("ID: 1 | Platform: tiktok | Username: "),
        "{text}"
    );
    assert!(
        lines[2].starts_with("ID: 2 | Platform: instagram | Username: "),
        "{text}"
    );
    assert!(lines[3].contains(" | Likes: ") && lines[3].contains(" | Liked videos: "));
    env.toker(&["listfull"])
        .assert()
        .success()
        .stdout(predicate::str::contains("User ID: custom_user_123"))
        .stdout(predicate::str::contains("Top categories: "))
        .stdout(predicate::str::contains("Raw JSON: {"));
}

#[test]
fn the_seed_usage_examples_work_verbatim() {
    run_seed_examples(&Env::sqlite());
}

#[cfg(feature = "postgres")]
#[test]
fn the_seed_usage_examples_work_on_postgres() {
    let Some(db) = toker_store::testing::TestDb::postgres() else {
        return;
    };
    let env = Env {
        dir: tempfile::tempdir().unwrap(),
        database: db.url.clone(),
    };
    run_seed_examples(&env);
}

#[test]
fn the_database_defaults_to_toker_db_and_honours_database_url() {
    let env = Env::sqlite();
    let mut cmd = Command::cargo_bin("toker").unwrap();
    cmd.env_remove("DATABASE_URL")
        .current_dir(env.dir.path())
        .args(["create", "tiktok", "--seed", "1"])
        .assert()
        .success();
    assert!(env.path("toker.db").exists());
    let other = env.path("other.db").display().to_string();
    let mut cmd = Command::cargo_bin("toker").unwrap();
    cmd.env("DATABASE_URL", &other)
        .current_dir(env.dir.path())
        .args(["create", "x", "--seed", "1"])
        .assert()
        .success();
    assert!(Path::new(&other).exists());
}

#[test]
fn create_of_an_existing_user_id_fails_and_changes_nothing() {
    let env = Env::sqlite();
    env.toker(&["create", "tiktok", "--user-id", "42", "--seed", "7"])
        .assert()
        .success();
    let before = env.json(&["show", "tiktok:42"]);
    env.toker(&["create", "tiktok", "--user-id", "42", "--seed", "8"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("tiktok:42"))
        .stderr(predicate::str::contains("already exists"));
    assert_eq!(env.json(&["show", "tiktok:42"]), before);
    assert_eq!(env.total(), 1);
}

#[test]
fn create_below_the_minimum_likes_is_rejected_with_exit_code_3() {
    let env = Env::sqlite();
    env.toker(&[
        "create",
        "tiktok",
        "--min-likes",
        "100000000000",
        "--seed",
        "3",
    ])
    .assert()
    .code(3)
    .stderr(predicate::str::contains("number_of_likes"));
    assert_eq!(env.total(), 0);
}

#[test]
fn create_with_count_is_deterministic_by_seed() {
    let a = Env::sqlite();
    let b = Env::sqlite();
    for env in [&a, &b] {
        let report = env.json(&["create", "instagram", "--count", "25", "--seed", "99"]);
        assert_eq!(report["created"], 25);
    }
    let export = |env: &Env| {
        let out = env
            .toker(&["export", "--format", "jsonl"])
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    assert_eq!(export(&a), export(&b));
    assert_eq!(export(&a).lines().count(), 25);
}

#[test]
fn every_command_speaks_json() {
    let env = Env::sqlite();
    let created = env.json(&["create", "tiktok", "--user-id", "1001", "--seed", "5"]);
    assert_eq!(created["user_id"], "1001");
    let id = created["id"].as_i64().unwrap();
    env.json(&["create", "x", "--count", "30", "--seed", "5"]);
    env.json(&["create", "tiktok", "--count", "30", "--seed", "6"]);
    let list = env.json(&["list", "--platform", "x", "--limit", "5"]);
    assert_eq!(list["total"], 30);
    assert_eq!(list["profiles"].as_array().unwrap().len(), 5);
    assert!(
        list["profiles"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["platform"] == "x")
    );
    let full = env.json(&["listfull", "--limit", "2"]);
    assert_eq!(full["profiles"][0]["profile"]["user_id"], "1001");
    let shown = env.json(&["show", &id.to_string()]);
    assert_eq!(shown["profile"]["user_id"], "1001");
    assert!(shown["summary"]["top_categories"].as_array().unwrap().len() <= 5);
    let stats = env.json(&["stats"]);
    assert_eq!(stats["profiles"], 61);
    let vectorized = env.json(&["vectorize", "--min-df", "1"]);
    assert_eq!(vectorized["profiles"], 61);
    let matches = env.json(&["match", &id.to_string(), "--top", "5"]);
    let matches = matches["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 5);
    assert!(
        matches
            .iter()
            .all(|m| m["id"] != id && m["score"].as_f64().unwrap() > 0.0)
    );
    let scores: Vec<f64> = matches
        .iter()
        .map(|m| m["score"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");
    let within = env.json(&["match", "tiktok:1001", "--platform", "x"]);
    assert!(
        within["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["platform"] == "x")
    );
    let deleted = env.json(&["delete", &id.to_string()]);
    assert_eq!(deleted["deleted"][0]["key"], "tiktok:1001");
    assert_eq!(env.json(&["stats"])["profiles"], 60);
}

#[test]
fn a_profile_created_after_vectorize_is_matchable_at_once() {
    let env = Env::sqlite();
    env.toker(&["create", "tiktok", "--count", "40", "--seed", "3"])
        .assert()
        .success();
    env.json(&["vectorize", "--min-df", "1"]);
    let created = env.json(&["create", "tiktok", "--seed", "99"]);
    let id = created["id"].as_i64().unwrap();
    // Stored with its vector: `match` scores nothing on the fly.
    let matched = env.json(&["match", &id.to_string(), "--top", "5"]);
    assert_eq!(matched["vectorized_now"], false, "{matched}");
    assert!(
        !matched["matches"].as_array().unwrap().is_empty(),
        "{matched}"
    );
    // And others find it: the best match of its best match's includes it.
    let best = matched["matches"][0]["id"].as_i64().unwrap();
    let back = env.json(&["match", &best.to_string(), "--top", "50"]);
    assert!(
        back["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == id),
        "{back}"
    );
    let stats = env.json(&["stats"]);
    assert_eq!(stats["vectors"], stats["profiles"], "{stats}");
    assert_eq!(stats["changed_since_refit"], 1, "{stats}");
    let drift = stats["drift"].as_f64().unwrap();
    assert!((drift - 1.0 / 41.0).abs() < 1e-9, "{stats}");
    assert_eq!(stats["refit_advised"], false, "{stats}");
}

#[test]
fn match_before_vectorize_says_what_to_run() {
    let env = Env::sqlite();
    env.toker(&["create", "tiktok", "--seed", "1"])
        .assert()
        .success();
    env.toker(&["match", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("toker vectorize"));
}

#[test]
fn import_is_all_or_nothing_by_default_and_reports_every_rejection() {
    let env = Env::sqlite();
    let file = env.path("in.jsonl");
    std::fs::write(
        &file,
        [profile("1", 500), profile("2", 5), profile("3", -1)].join("\n"),
    )
    .unwrap();
    let file = file.display().to_string();
    env.toker(&["import", &file, "--platform", "tiktok"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("record 2 (line 2)"))
        .stderr(predicate::str::contains("number_of_likes"))
        .stderr(predicate::str::contains("nothing stored"));
    assert_eq!(env.total(), 0);
    let report = env
        .toker(&[
            "import",
            &file,
            "--platform",
            "tiktok",
            "--keep-going",
            "--json",
        ])
        .assert()
        .code(3);
    let report: Value = serde_json::from_slice(&report.get_output().stdout).unwrap();
    assert_eq!(report["created"], 1);
    assert_eq!(report["rejected"], 2);
    assert_eq!(env.total(), 1);
}

#[test]
fn import_reads_arrays_jsonl_and_stdin_and_cleans_what_it_stores() {
    let env = Env::sqlite();
    let array = format!("[{},{}]", profile("1", 500), profile("2", 500));
    let file = env.path("in.json");
    std::fs::write(&file, &array).unwrap();
    env.toker(&["import", file.to_str().unwrap(), "--platform", "x"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 created"));
    let line = profile("3", 700).replace("{\"user_id\"", "{\"platform\":\"TikTok\",\"user_id\"");
    env.toker(&["import", "-"])
        .write_stdin(line)
        .assert()
        .success();
    let shown = env.json(&["show", "tiktok:3"]);
    let video = &shown["profile"]["liked_videos"][0];
    assert_eq!(video["categories"][0], "Music");
    assert_eq!(video["hashtags"][0], "#fun");
    assert_eq!(env.total(), 3);
}

#[test]
fn import_of_existing_profiles_reports_duplicates_or_replaces_with_upsert() {
    let env = Env::sqlite();
    let file = env.path("in.jsonl");
    std::fs::write(&file, profile("1", 500)).unwrap();
    let file = file.display().to_string();
    env.toker(&["import", &file, "--platform", "tiktok"])
        .assert()
        .success();
    let again = env.json(&["import", &file, "--platform", "tiktok"]);
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["duplicate_records"][0]["key"], "tiktok:1");
    std::fs::write(env.path("in.jsonl"), profile("1", 900)).unwrap();
    let upserted = env.json(&["import", &file, "--platform", "tiktok", "--upsert"]);
    assert_eq!(upserted["updated"], 1);
    assert_eq!(
        env.json(&["show", "tiktok:1"])["profile"]["number_of_likes"],
        900
    );
}

#[test]
fn malformed_or_truncated_input_is_rejected_and_stores_nothing() {
    let env = Env::sqlite();
    for (name, text) in [
        (
            "broken.jsonl",
            format!("{}\n{{\"user_id\": ", profile("1", 500)),
        ),
        (
            "bad.jsonl",
            format!("{}\n{{not json}}\n", profile("1", 500)),
        ),
        (
            "array.json",
            format!("[{} {}]", profile("1", 500), profile("2", 500)),
        ),
    ] {
        let file = env.path(name);
        std::fs::write(&file, text).unwrap();
        env.toker(&["import", file.to_str().unwrap(), "--platform", "tiktok"])
            .assert()
            .code(3)
            .stderr(predicate::str::contains(name))
            .stderr(predicate::str::contains("panicked").not());
        assert_eq!(env.total(), 0, "{name}");
    }
}

#[test]
fn import_without_a_platform_names_the_record_and_the_fix() {
    let env = Env::sqlite();
    let file = env.path("in.jsonl");
    std::fs::write(&file, profile("1", 500)).unwrap();
    env.toker(&["import", file.to_str().unwrap()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("record 1 (line 1)"))
        .stderr(predicate::str::contains("--platform"));
}

#[test]
fn export_round_trips_through_import_in_every_format() {
    let env = Env::sqlite();
    env.json(&["create", "tiktok", "--count", "12", "--seed", "4"]);
    for format in ["json", "jsonl"] {
        let out = env.path(&format!("out.{format}"));
        env.toker(&["export", "--format", format, "-o", out.to_str().unwrap()])
            .assert()
            .success();
        let copy = Env::sqlite();
        let report = copy.json(&["import", out.to_str().unwrap()]);
        assert_eq!(report["created"], 12, "{format}");
        let dump = |env: &Env| {
            let out = env
                .toker(&["export", "--format", "jsonl"])
                .assert()
                .success();
            String::from_utf8(out.get_output().stdout.clone()).unwrap()
        };
        assert_eq!(dump(&copy), dump(&env), "{format}");
    }
    let csv = env.toker(&["export", "--format", "csv"]).assert().success();
    let csv = String::from_utf8(csv.get_output().stdout.clone()).unwrap();
    assert_eq!(csv.lines().count(), 13);
    let header = "id,platform,user_id,username,user_pseudo,verified,followers_count,\
                  following_count,likes_count,videos_count,number_of_comments,\
                  number_of_likes_on_own_videos,number_of_likes,number_of_shares,liked_videos,\
                  shared_videos,top_categories,top_hashtags,created_at,updated_at";
    assert_eq!(csv.lines().next(), Some(header));
    for line in csv.lines() {
        // No field of these profiles holds a comma or a quote: one value per column.
        assert_eq!(line.split(',').count(), 20, "{line}");
    }
}

#[test]
fn delete_of_a_missing_profile_deletes_nothing() {
    let env = Env::sqlite();
    env.toker(&["create", "tiktok", "--seed", "1"])
        .assert()
        .success();
    env.toker(&["delete", "1", "99"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("99"));
    assert_eq!(env.total(), 1);
    env.toker(&["delete", "1"]).assert().success();
    assert_eq!(env.total(), 0);
}

#[test]
fn bad_input_gets_one_clear_line_and_the_right_exit_code() {
    let env = Env::sqlite();
    // Usage errors: exit 2.
    env.toker(&["create", "myspace"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("tiktok"));
    env.toker(&["show", "nope"]).assert().code(2);
    // Runtime errors: exit 1, never a panic.
    for args in [
        vec!["import", "missing.jsonl", "--platform", "x"],
        vec!["show", "7"],
    ] {
        env.toker(&args)
            .assert()
            .code(1)
            .stderr(predicate::str::starts_with("error: "))
            .stderr(predicate::str::contains("panicked").not());
    }
    let dir = env.path("adir");
    std::fs::create_dir(&dir).unwrap();
    let mut cmd = Command::cargo_bin("toker").unwrap();
    cmd.args(["--database", dir.to_str().unwrap(), "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("panicked").not());
    let mut cmd = Command::cargo_bin("toker").unwrap();
    cmd.args(["--database", "postgres://nobody@127.0.0.1:1/none", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let env = Env::sqlite();
    env.json(&["create", "tiktok", "--count", "300", "--seed", "2"]);
    let exe = assert_cmd::cargo::cargo_bin("toker");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "'{}' --database '{}' listfull | head -n 1; exit ${{PIPESTATUS:-0}}",
            exe.display(),
            env.database
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
}

#[test]
fn completions_are_printed_for_a_shell() {
    let env = Env::sqlite();
    env.toker(&["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("toker"));
}

#[test]
fn keep_going_skips_a_malformed_line_and_stores_the_rest() {
    let env = Env::sqlite();
    let file = env.path("mixed.jsonl");
    std::fs::write(
        &file,
        format!(
            "{}\n{{\"user_id\": oops}}\n{}\n",
            profile("1", 500),
            profile("2", 500)
        ),
    )
    .unwrap();
    let file = file.display().to_string();
    env.toker(&["import", &file, "--platform", "x"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("record 2 (line 2)"))
        .stderr(predicate::str::contains("malformed JSON"));
    assert_eq!(env.total(), 0);
    let out = env
        .toker(&["import", &file, "--platform", "x", "--keep-going", "--json"])
        .assert()
        .code(3);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["created"], 2);
    assert_eq!(report["rejected_records"][0]["record"], "record 2 (line 2)");
    assert_eq!(env.total(), 2);
}

/// The `toker` lines of the README's command section, without their comments, in order
/// (those that need a platform, a file of the reader's or a system path left out).
fn readme_toker_lines() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let start = readme.find("## The `toker` command").unwrap();
    let end = readme[start..].find("## The REST API").unwrap() + start;
    readme[start..end]
        .lines()
        .map(|line| line.split(" #").next().unwrap_or("").trim())
        .filter(|line| line.starts_with("toker "))
        .filter(|line| {
            !["fetch", "import-export", "completions", "serve", "apikey"]
                .iter()
                .any(|skip| line.split_whitespace().nth(1) == Some(skip))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_readme_command_example_runs_as_written() {
    let env = Env::sqlite();
    // The README runs from the repository root, where `examples/` is.
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    std::fs::create_dir(env.path("examples")).unwrap();
    for entry in std::fs::read_dir(&examples).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), env.path("examples").join(entry.file_name())).unwrap();
    }
    let lines = readme_toker_lines();
    assert!(lines.len() >= 14, "{lines:?}");
    for line in &lines {
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        // The README documents exit code 3 for an import that rejected some records.
        let expected = if args.contains(&"--keep-going") { 3 } else { 0 };
        let out = env.toker(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(expected),
            "`{line}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // What the examples promise: the deleted profiles are gone, the imports are stored.
    env.toker(&["show", "12"]).assert().code(1);
    env.toker(&["show", "instagram:custom_user_123"])
        .assert()
        .code(1);
    env.toker(&["show", "tiktok:koen.games6136"])
        .assert()
        .success();
    assert!(env.path("profiles.csv").exists());
}

#[test]
fn read_only_commands_refuse_a_database_file_that_does_not_exist() {
    let env = Env::sqlite();
    for args in [
        &["list"][..],
        &["show", "1"],
        &["stats"],
        &["export"],
        &["match", "1"],
    ] {
        env.toker(args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("does not exist"));
    }
    assert!(!env.path("toker.db").exists(), "a reader created the file");
    env.toker(&["create", "x", "--seed", "1"])
        .assert()
        .success();
    assert_eq!(env.total(), 1);
}

#[test]
fn usage_mistakes_exit_2_and_failed_deletes_say_nothing_was_deleted() {
    let env = Env::sqlite();
    env.toker(&["create", "x", "--user-id", ""])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--user-id"));
    env.toker(&["create", "x", "--seed", "1"])
        .assert()
        .success();
    env.toker(&["delete", "1", "x:nobody"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nothing deleted"));
    assert_eq!(env.total(), 1, "the existing profile was deleted");
    // Re-creating the same bulk does not point to a flag `create` does not have.
    env.toker(&["create", "x", "--count", "2", "--seed", "1"])
        .assert()
        .success();
    env.toker(&["create", "x", "--count", "2", "--seed", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already existed"))
        .stdout(predicate::str::contains("--upsert").not());
}

#[test]
fn importing_a_csv_or_an_empty_file_says_what_it_is() {
    let env = Env::sqlite();
    env.toker(&["create", "x", "--seed", "1"])
        .assert()
        .success();
    env.toker(&["export", "--format", "csv", "-o", "p.csv"])
        .assert()
        .success();
    env.toker(&["import", "p.csv"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("is not JSON"))
        .stderr(predicate::str::contains("CSV"));
    std::fs::write(env.path("empty.jsonl"), "\n  \n").unwrap();
    env.toker(&["import", "empty.jsonl"])
        .assert()
        .success()
        .stderr(predicate::str::contains("holds no records"));
}

#[test]
fn json_seeds_are_strings_so_that_no_digit_is_lost() {
    let env = Env::sqlite();
    let seed = "18446744073709551615"; // u64::MAX, beyond 2^53
    let out = env.json(&["create", "x", "--seed", seed]);
    assert_eq!(out["seed"], seed);
    let out = env.json(&["create", "tiktok", "--count", "1", "--seed", seed]);
    assert_eq!(out["seed"], seed);
}

#[test]
fn help_groups_global_options_and_names_exit_codes_and_settings() {
    let env = Env::sqlite();
    let help = |args: &[&str]| {
        let out = env.toker(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    assert!(
        top.contains("Exit codes:") && top.contains("Quick start:"),
        "{top}"
    );
    let list = help(&["list", "--help"]);
    assert!(list.contains("Global options:"), "{list}");
    assert!(!list.contains("--min-likes"), "{list}");
    assert!(help(&["import", "--help"]).contains("--min-likes"));
    let serve = help(&["serve", "--help"]);
    for name in [
        "TOKER_SECRET_KEY",
        "TOKER_PUBLIC_URL",
        "TOKER_CONNECT_<PLATFORM>_CLIENT_ID",
    ] {
        assert!(serve.contains(name), "{name} in {serve}");
    }
    assert!(help(&["fetch", "--help"]).contains("TOKER_X_TOKEN"));
}

#[test]
fn import_rejects_control_characters_with_their_field_path() {
    let env = Env::sqlite();
    let file = env.path("nul.jsonl");
    let mut nul_id: Value = serde_json::from_str(&profile("1", 500)).unwrap();
    nul_id["user_id"] = Value::String("12\u{0}34".to_owned());
    let mut nul_tag: Value = serde_json::from_str(&profile("2", 500)).unwrap();
    nul_tag["liked_videos"][0]["hashtags"] = serde_json::json!(["#ok", "#b\u{0}ad"]);
    let mut c1_name: Value = serde_json::from_str(&profile("3", 500)).unwrap();
    c1_name["username"] = Value::String("user\u{85}3".to_owned());
    std::fs::write(
        &file,
        [nul_id, nul_tag, c1_name].map(|v| v.to_string()).join("\n"),
    )
    .unwrap();
    env.toker(&["import", &file.display().to_string(), "--platform", "x"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains(
            "user_id: must not contain control characters",
        ))
        .stderr(predicate::str::contains(
            "liked_videos[0].hashtags[1]: must not contain control characters",
        ))
        .stderr(predicate::str::contains(
            "username: must not contain control characters",
        ))
        .stderr(predicate::str::contains("nothing stored"));
    assert_eq!(env.total(), 0);
}

#[test]
fn json_stats_have_the_rest_apis_shape() {
    let env = Env::sqlite();
    env.toker(&["create", "tiktok", "--count", "2", "--seed", "4"])
        .assert()
        .success();
    let stats = env.json(&["stats"]);
    // The same fields as GET /v1/stats, per-platform counts as an object.
    assert_eq!(stats["profiles"], 2);
    assert_eq!(stats["by_platform"]["tiktok"], 2);
    assert_eq!(stats["by_platform"]["x"], 0);
    for field in ["videos", "liked_links", "shared_links", "tags", "vectors"] {
        assert!(stats[field].is_u64(), "{field}: {stats}");
    }
    assert!(stats["vocabulary_version"].is_null());
}
