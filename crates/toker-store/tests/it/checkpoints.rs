//! Checkpoints of resumable collection and unchanged-aware profile writes, the same on
//! SQLite and PostgreSQL.

use serde_json::{Value, json};
use toker_model::Platform;
use toker_store::{
    ListingState, NewPage, NewRun, PageCommit, ProfileWrite, RunEnd, RunMode, RunStatus, Store,
    StoreError, Written,
};
use toker_testkit::on_both_backends;
use toker_testkit::samples::{profile, raw};

on_both_backends!(
    store:
    identical_content_is_unchanged_and_keeps_updated_at,
    a_page_its_checkpoint_and_the_profile_commit_together_or_not_at_all,
    a_person_has_at_most_one_unfinished_run,
    only_a_run_that_read_everything_moves_the_marker,
    deleting_a_profile_deletes_the_collection_runs_that_wrote_it,
);

fn account() -> Value {
    json!({"platform": "tiktok", "key": "mila.reyes", "listings": ["liked"]})
}

fn start(store: &mut Store, subject: &str, mode: RunMode, base: Option<&Value>) -> i64 {
    let account = account();
    store
        .start_run(&NewRun {
            platform: Platform::TikTok,
            subject,
            mode,
            max_items: None,
            account: &account,
            base,
        })
        .unwrap()
        .id
}

fn page(n: u32) -> Value {
    json!({"data": {"videos": [{"id": n}], "cursor": n, "has_more": true}})
}

fn identical_content_is_unchanged_and_keeps_updated_at(store: &mut Store) {
    let p = profile(4);
    let r = raw(&p);
    let what = store
        .upsert_profile_if_changed(Platform::TikTok, &p, &r, None)
        .unwrap();
    assert!(matches!(what, Written::Created(_)));
    let id = what.id();
    let first = store.get_profile(id).unwrap();

    let again = store
        .upsert_profile_if_changed(Platform::TikTok, &p, &r, None)
        .unwrap();
    assert_eq!(again, Written::Unchanged(id));
    let back = store.get_profile(id).unwrap();
    assert_eq!(back.updated_at, first.updated_at, "nothing was written");

    // A different raw payload, a changed count, or a new owner is a change.
    let other_raw = json!({"note": "another payload"});
    assert_eq!(
        store
            .upsert_profile_if_changed(Platform::TikTok, &p, &other_raw, None)
            .unwrap(),
        Written::Updated(id)
    );
    let mut changed = p.clone();
    changed.followers_count = Some(1);
    assert_eq!(
        store
            .upsert_profile_if_changed(Platform::TikTok, &changed, &other_raw, None)
            .unwrap(),
        Written::Updated(id)
    );
    assert_eq!(
        store
            .upsert_profile_if_changed(Platform::TikTok, &changed, &other_raw, Some("dave"))
            .unwrap(),
        Written::Updated(id)
    );
    let stored = store.get_profile(id).unwrap();
    assert_eq!(stored.profile, changed);
    assert_eq!(stored.owner.as_deref(), Some("dave"));
    // Without an owner, the stored owner is kept and identical content stays unchanged.
    assert_eq!(
        store
            .upsert_profile_if_changed(Platform::TikTok, &changed, &other_raw, None)
            .unwrap(),
        Written::Unchanged(id)
    );
}

fn a_page_its_checkpoint_and_the_profile_commit_together_or_not_at_all(store: &mut Store) {
    let run = start(store, "mila.reyes", RunMode::Full, None);
    let p = profile(7);
    let r = raw(&p);
    let first = page(1);
    let written = store
        .commit_page(&PageCommit {
            run_id: run,
            listing: "liked",
            page: Some(NewPage {
                cursor: None,
                item_count: 1,
                raw: &first,
            }),
            state: ListingState::Reading,
            next_cursor: Some("1"),
            profile: Some(ProfileWrite {
                platform: Platform::TikTok,
                profile: &p,
                raw: &r,
                owner: None,
                compare_raw: true,
            }),
        })
        .unwrap();
    let what = written.unwrap();
    assert!(matches!(what, Written::Created(_)));
    let profile_id = what.id();
    assert_eq!(store.get_profile(profile_id).unwrap().profile, p);

    // A commit whose profile cannot be stored leaves no trace: no page, same checkpoint.
    let mut broken = p.clone();
    broken.followers_count = Some(u64::MAX);
    let second = page(2);
    let err = store
        .commit_page(&PageCommit {
            run_id: run,
            listing: "liked",
            page: Some(NewPage {
                cursor: Some("1"),
                item_count: 1,
                raw: &second,
            }),
            state: ListingState::Ended,
            next_cursor: None,
            profile: Some(ProfileWrite {
                platform: Platform::TikTok,
                profile: &broken,
                raw: &r,
                owner: None,
                compare_raw: true,
            }),
        })
        .unwrap_err();
    assert!(err.to_string().contains("followers_count"), "{err}");
    let pages = store.run_pages(run).unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!((pages[0].seq, pages[0].cursor.as_deref()), (1, None));
    assert_eq!(pages[0].raw, first);
    assert_eq!(pages[0].next_cursor.as_deref(), Some("1"));
    let checkpoints = store.run_checkpoints(run).unwrap();
    assert_eq!(checkpoints.len(), 1);
    assert_eq!(checkpoints[0].listing, "liked");
    assert_eq!(checkpoints[0].state, ListingState::Reading);
    assert_eq!(checkpoints[0].next_cursor.as_deref(), Some("1"));
    assert_eq!((checkpoints[0].pages, checkpoints[0].items), (1, 1));

    // The same page with a storable (identical) profile: committed, profile unchanged.
    let written = store
        .commit_page(&PageCommit {
            run_id: run,
            listing: "liked",
            page: Some(NewPage {
                cursor: Some("1"),
                item_count: 1,
                raw: &second,
            }),
            state: ListingState::Ended,
            next_cursor: None,
            profile: Some(ProfileWrite {
                platform: Platform::TikTok,
                profile: &p,
                raw: &r,
                owner: None,
                compare_raw: true,
            }),
        })
        .unwrap();
    assert_eq!(written, Some(Written::Unchanged(profile_id)));
    let run_row = store.collection_run(run).unwrap();
    assert_eq!((run_row.pages, run_row.items), (2, 2));
    assert_eq!(run_row.status, RunStatus::Unfinished);
    let cp = &store.run_checkpoints(run).unwrap()[0];
    assert_eq!(
        (cp.state, cp.pages, cp.next_cursor.as_deref()),
        (ListingState::Ended, 2, None)
    );

    // A final list takes no more pages.
    let err = store
        .commit_page(&PageCommit {
            run_id: run,
            listing: "liked",
            page: Some(NewPage {
                cursor: None,
                item_count: 1,
                raw: &first,
            }),
            state: ListingState::Reading,
            next_cursor: Some("9"),
            profile: None,
        })
        .unwrap_err();
    assert!(err.to_string().contains("already ended"), "{err}");

    // A state change without a page (a refused list), with a profile whose raw JSON alone
    // differs: without compare_raw it is unchanged, stored raw JSON included.
    let fresh_raw = json!({"log_id": "another request"});
    let written = store
        .commit_page(&PageCommit {
            run_id: run,
            listing: "reposted",
            page: None,
            state: ListingState::Refused,
            next_cursor: None,
            profile: Some(ProfileWrite {
                platform: Platform::TikTok,
                profile: &p,
                raw: &fresh_raw,
                owner: None,
                compare_raw: false,
            }),
        })
        .unwrap();
    assert_eq!(written, Some(Written::Unchanged(profile_id)));
    assert_eq!(store.get_profile(profile_id).unwrap().raw_json, r);
    let states: Vec<_> = store
        .run_checkpoints(run)
        .unwrap()
        .into_iter()
        .map(|c| (c.listing, c.state, c.pages))
        .collect();
    assert_eq!(
        states,
        [
            ("liked".to_owned(), ListingState::Ended, 2),
            ("reposted".to_owned(), ListingState::Refused, 0)
        ]
    );
}

fn a_person_has_at_most_one_unfinished_run(store: &mut Store) {
    let base = json!({"user": {"username": "mila.reyes"}, "liked": [page(0)]});
    let run = start(store, "mila.reyes", RunMode::Full, Some(&base));
    let account = account();
    let again = store
        .start_run(&NewRun {
            platform: Platform::TikTok,
            subject: "mila.reyes",
            mode: RunMode::SinceLast,
            max_items: Some(5),
            account: &account,
            base: None,
        })
        .unwrap_err();
    assert!(
        matches!(&again, StoreError::AlreadyExists { what } if what.contains(&format!("run {run}"))),
        "{again}"
    );
    // Another person, or the same handle on another platform, is another run.
    let other = start(store, "jonas", RunMode::Full, None);
    assert_ne!(other, run);
    let x = store
        .start_run(&NewRun {
            platform: Platform::X,
            subject: "mila.reyes",
            mode: RunMode::Full,
            max_items: None,
            account: &account,
            base: None,
        })
        .unwrap();
    assert_eq!(x.platform, Platform::X);

    let unfinished = store
        .unfinished_run(Platform::TikTok, "mila.reyes")
        .unwrap()
        .unwrap();
    assert_eq!(unfinished.id, run);
    assert_eq!(unfinished.account, account);
    assert_eq!(unfinished.base, Some(base.clone()));
    assert_eq!(unfinished.mode, RunMode::Full);
    store.stop_run(run, "daily quota spent").unwrap();
    assert_eq!(
        store.collection_run(run).unwrap().stop_reason.as_deref(),
        Some("daily quota spent")
    );

    let result = json!({"user": {"username": "mila.reyes"}, "liked": [page(0), page(1)]});
    store
        .end_run(
            run,
            &RunEnd {
                status: RunStatus::Abandoned,
                result: &result,
                move_marker: false,
                reason: Some("restarted"),
                profile: None,
            },
        )
        .unwrap();
    assert!(
        store
            .unfinished_run(Platform::TikTok, "mila.reyes")
            .unwrap()
            .is_none()
    );
    let ended = store.collection_run(run).unwrap();
    assert_eq!(ended.status, RunStatus::Abandoned);
    assert_eq!((ended.base, ended.result), (None, Some(result)));
    assert!(ended.finished_at.is_some());
    let err = store.stop_run(run, "again").unwrap_err();
    assert!(
        err.to_string().contains("abandoned, not unfinished"),
        "{err}"
    );
    let err = store.collection_run(999_999).unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let next = start(store, "mila.reyes", RunMode::Full, None);
    assert!(next > run);
    assert!(
        store
            .start_run(&NewRun {
                platform: Platform::TikTok,
                subject: " ",
                mode: RunMode::Full,
                max_items: None,
                account: &account,
                base: None,
            })
            .is_err()
    );
}

fn only_a_run_that_read_everything_moves_the_marker(store: &mut Store) {
    let p = profile(3);
    let r = raw(&p);
    let first = start(store, "lea", RunMode::Full, None);
    let committed = page(1);
    store
        .commit_page(&PageCommit {
            run_id: first,
            listing: "posts",
            page: Some(NewPage {
                cursor: None,
                item_count: 1,
                raw: &committed,
            }),
            state: ListingState::Ended,
            next_cursor: None,
            profile: None,
        })
        .unwrap();
    let complete = json!({"user": {}, "posts": [committed]});
    let written = store
        .end_run(
            first,
            &RunEnd {
                status: RunStatus::Complete,
                result: &complete,
                move_marker: true,
                reason: None,
                profile: Some(ProfileWrite {
                    platform: Platform::Instagram,
                    profile: &p,
                    raw: &r,
                    owner: None,
                    compare_raw: true,
                }),
            },
        )
        .unwrap();
    assert!(matches!(written, Some(Written::Created(_))));
    assert!(
        store.run_pages(first).unwrap().is_empty(),
        "folded into the result"
    );
    let marker = store
        .collection_marker(Platform::TikTok, "lea")
        .unwrap()
        .unwrap();
    assert_eq!((marker.run_id, &marker.raw), (first, &complete));

    // An ended run that did not read everything leaves the marker where it was, but its
    // result is the latest (and the only one kept besides the marker's copy).
    let second = start(store, "lea", RunMode::SinceLast, Some(&complete));
    let partial = json!({"user": {}, "posts": [page(2), committed]});
    store
        .end_run(
            second,
            &RunEnd {
                status: RunStatus::Rejected,
                result: &partial,
                move_marker: false,
                reason: Some("too few likes"),
                profile: None,
            },
        )
        .unwrap();
    let marker = store
        .collection_marker(Platform::TikTok, "lea")
        .unwrap()
        .unwrap();
    assert_eq!((marker.run_id, &marker.raw), (first, &complete));
    assert_eq!(
        store.latest_result(Platform::TikTok, "lea").unwrap(),
        Some(partial)
    );
    let runs = store.collection_runs(Platform::TikTok, "lea").unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].result, None, "older results are dropped");
    assert_eq!(runs[1].status, RunStatus::Rejected);
    assert_eq!(runs[1].stop_reason.as_deref(), Some("too few likes"));
    assert!(
        store
            .collection_marker(Platform::TikTok, "nobody")
            .unwrap()
            .is_none()
    );
    assert!(store.latest_result(Platform::X, "lea").unwrap().is_none());
}

/// Commits one page of `listing` for `run`, writing `p` (with `owner`) as the run's profile.
fn commit_with_profile(
    store: &mut Store,
    run: i64,
    n: u32,
    p: &toker_model::Profile,
    owner: Option<&str>,
) -> i64 {
    let r = raw(p);
    let body = page(n);
    store
        .commit_page(&PageCommit {
            run_id: run,
            listing: "liked",
            page: Some(NewPage {
                cursor: None,
                item_count: 1,
                raw: &body,
            }),
            state: ListingState::Reading,
            next_cursor: Some("next"),
            profile: Some(ProfileWrite {
                platform: Platform::TikTok,
                profile: p,
                raw: &r,
                owner,
                compare_raw: true,
            }),
        })
        .unwrap()
        .unwrap()
        .id()
}

fn complete(store: &mut Store, run: i64) {
    let result = json!({"user": {}, "liked": []});
    store
        .end_run(
            run,
            &RunEnd {
                status: RunStatus::Complete,
                result: &result,
                move_marker: true,
                reason: None,
                profile: None,
            },
        )
        .unwrap();
}

/// Neither a run nor a marker of `subject` is left.
fn assert_no_collection_of(store: &mut Store, subject: &str) {
    let runs = store.collection_runs(Platform::TikTok, subject).unwrap();
    assert!(runs.is_empty(), "{subject}: runs left: {runs:?}");
    let marker = store.collection_marker(Platform::TikTok, subject).unwrap();
    assert!(marker.is_none(), "{subject}: marker left: {marker:?}");
}

fn deleting_a_profile_deletes_the_collection_runs_that_wrote_it(store: &mut Store) {
    // mila: a complete run (with its marker) and an unfinished one with a committed page.
    let mila = profile(2);
    let first = start(store, "mila", RunMode::Full, None);
    let mila_id = commit_with_profile(store, first, 1, &mila, None);
    complete(store, first);
    let second = start(store, "mila", RunMode::SinceLast, None);
    assert_eq!(commit_with_profile(store, second, 2, &mila, None), mila_id);
    // lea: another person, collected and complete; ghost: a run that stored no profile yet.
    let mut lea = profile(3);
    lea.user_id = "lea-id".to_owned();
    let lea_run = start(store, "lea", RunMode::Full, None);
    commit_with_profile(store, lea_run, 1, &lea, None);
    complete(store, lea_run);
    let ghost = start(store, "ghost", RunMode::Full, None);

    store.delete_profile(mila_id).unwrap();
    assert_no_collection_of(store, "mila");
    assert!(
        store
            .unfinished_run(Platform::TikTok, "mila")
            .unwrap()
            .is_none()
    );
    assert!(
        store.run_pages(second).unwrap().is_empty(),
        "its raw pages are gone"
    );
    assert!(
        store
            .latest_result(Platform::TikTok, "mila")
            .unwrap()
            .is_none()
    );
    // Nobody else's collection is touched.
    assert_eq!(
        store
            .collection_runs(Platform::TikTok, "lea")
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .collection_marker(Platform::TikTok, "lea")
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .unfinished_run(Platform::TikTok, "ghost")
            .unwrap()
            .map(|r| r.id),
        Some(ghost)
    );
    // A new full run of mila starts from nothing.
    let again = start(store, "mila", RunMode::Full, None);
    assert_ne!(again, second);

    // An owner's erasure takes the collections of every profile they own.
    let mut owned = profile(4);
    owned.user_id = "owned-id".to_owned();
    let owned_run = start(store, "owned", RunMode::Full, None);
    commit_with_profile(store, owned_run, 1, &owned, Some("dave"));
    complete(store, owned_run);
    assert_eq!(store.delete_owner("dave").unwrap(), 1);
    assert_no_collection_of(store, "owned");
    assert!(
        store
            .collection_marker(Platform::TikTok, "lea")
            .unwrap()
            .is_some()
    );
}
