//! The job queue on SQLite and PostgreSQL: claims are exclusive, leases expire and are
//! taken over, a stale worker cannot end a job, failures retry until a dead letter, and a
//! dedup key keeps one unfinished job.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use toker_store::{JobCounts, JobEnd, JobState, NewJob, Store, StoreError};
use toker_testkit::on_both_backends;

on_both_backends!(
    store:
    two_claimers_never_get_the_same_job,
    an_expired_lease_is_claimed_again_as_a_new_attempt,
    a_worker_whose_lease_was_taken_over_cannot_end_the_job,
    failures_retry_with_their_delay_then_end_dead,
    a_lease_expiring_on_the_last_attempt_ends_dead,
    a_dedup_key_keeps_one_unfinished_job,
    a_released_job_is_claimed_again_without_counting_the_attempt,
    a_job_ends_once_with_its_result_and_its_input_is_dropped,
    bad_jobs_are_refused_with_the_field_named,
    jobs_are_counted_by_kind_and_state,
    jobs_queued_together_are_all_queued_or_none,
);

const LEASE: Duration = Duration::from_secs(30);

fn new_job<'a>(payload: &'a serde_json::Value, run_after: DateTime<Utc>) -> NewJob<'a> {
    NewJob {
        kind: "test",
        payload,
        input: None,
        owner: None,
        max_attempts: 3,
        run_after,
        dedup_key: None,
    }
}

fn two_claimers_never_get_the_same_job(store: &mut Store) {
    let now = Utc::now();
    let mut all = BTreeSet::new();
    for i in 0..60 {
        let payload = json!({ "n": i });
        all.insert(store.enqueue_job(&new_job(&payload, now)).unwrap().job.id);
    }
    let url = store.url_redacted();
    let claimers: Vec<_> = (0..2)
        .map(|w| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                let mut got = Vec::new();
                let worker = format!("worker-{w}");
                while let Some(claimed) = store.claim_job(&worker, LEASE, Utc::now()).unwrap() {
                    assert_eq!(claimed.job.state, JobState::Running);
                    assert_eq!(claimed.lease.attempt, 1);
                    got.push(claimed.job.id);
                    let result = json!({ "by": worker });
                    let ended = store
                        .finish_job(&claimed.lease, JobEnd::Succeeded(&result), None, Utc::now())
                        .unwrap();
                    assert_eq!(ended.unwrap().state, JobState::Succeeded);
                }
                got
            })
        })
        .collect();
    let got: Vec<Vec<i64>> = claimers.into_iter().map(|c| c.join().unwrap()).collect();
    let first: BTreeSet<i64> = got[0].iter().copied().collect();
    let second: BTreeSet<i64> = got[1].iter().copied().collect();
    assert!(first.is_disjoint(&second), "a job was claimed twice");
    assert_eq!(got[0].len() + got[1].len(), 60);
    assert_eq!(&first | &second, all);
    let counts = store.count_jobs(Some("test")).unwrap();
    assert_eq!(
        (counts.succeeded, counts.queued, counts.running),
        (60, 0, 0)
    );
}

fn an_expired_lease_is_claimed_again_as_a_new_attempt(store: &mut Store) {
    let now = Utc::now();
    let payload = json!({});
    let id = store.enqueue_job(&new_job(&payload, now)).unwrap().job.id;
    let first = store.claim_job("a", LEASE, now).unwrap().unwrap();
    assert_eq!(first.job.id, id);
    // Held: nobody else gets it, not even just before the lease ends.
    let almost = now + chrono::Duration::seconds(29);
    assert!(store.claim_job("b", LEASE, almost).unwrap().is_none());
    let later = now + chrono::Duration::seconds(31);
    let second = store.claim_job("b", LEASE, later).unwrap().unwrap();
    assert_eq!(second.job.id, id);
    assert_eq!(second.lease.attempt, 2);
    assert_eq!(second.job.lease_owner.as_deref(), Some("b"));
    // A renewed lease is not taken over.
    assert!(
        store
            .renew_lease(&second.lease, LEASE, Some(&json!({ "pages": 3 })), later)
            .unwrap()
    );
    let renewed_until = later + chrono::Duration::seconds(29);
    assert!(
        store
            .claim_job("c", LEASE, renewed_until)
            .unwrap()
            .is_none()
    );
    let job = store.get_job(id).unwrap().unwrap();
    assert_eq!(job.progress, Some(json!({ "pages": 3 })));
    assert_eq!(job.attempts, 2);
}

fn a_worker_whose_lease_was_taken_over_cannot_end_the_job(store: &mut Store) {
    let now = Utc::now();
    let payload = json!({});
    let id = store.enqueue_job(&new_job(&payload, now)).unwrap().job.id;
    let stale = store.claim_job("a", LEASE, now).unwrap().unwrap();
    let later = now + chrono::Duration::seconds(60);
    let fresh = store.claim_job("b", LEASE, later).unwrap().unwrap();
    assert_eq!(fresh.job.id, id);

    let stale_result = json!({ "by": "a" });
    let next_payload = json!({ "next": true });
    let next = new_job(&next_payload, later);
    for end in [
        JobEnd::Succeeded(&stale_result),
        JobEnd::Failed("a"),
        JobEnd::Retry {
            error: "a",
            after: Duration::ZERO,
        },
    ] {
        assert_eq!(
            store
                .finish_job(&stale.lease, end, Some(&next), later)
                .unwrap(),
            None
        );
    }
    assert!(!store.renew_lease(&stale.lease, LEASE, None, later).unwrap());
    assert!(!store.release_job(&stale.lease, later).unwrap());
    // The same worker name on another attempt is another lease, too.
    let mut other_attempt = fresh.lease.clone();
    other_attempt.attempt = 1;
    assert!(
        !store
            .renew_lease(&other_attempt, LEASE, None, later)
            .unwrap()
    );

    let job = store.get_job(id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Running);
    assert_eq!(job.lease_owner.as_deref(), Some("b"));
    assert_eq!(
        store.list_jobs(None).unwrap().len(),
        1,
        "the stale worker queued `next`"
    );

    let result = json!({ "by": "b" });
    let done = store
        .finish_job(&fresh.lease, JobEnd::Succeeded(&result), None, later)
        .unwrap()
        .unwrap();
    assert_eq!(done.result, Some(result));
    assert_eq!(done.state, JobState::Succeeded);
    assert!(done.finished_at.is_some());
}

fn failures_retry_with_their_delay_then_end_dead(store: &mut Store) {
    let now = Utc::now();
    let payload = json!({});
    let id = store.enqueue_job(&new_job(&payload, now)).unwrap().job.id;
    let mut at = now;
    for attempt in 1..=3u32 {
        let claimed = store.claim_job("w", LEASE, at).unwrap().unwrap();
        assert_eq!(claimed.lease.attempt, attempt);
        let wait = Duration::from_secs(10 << attempt);
        let error = format!("failure {attempt}");
        let job = store
            .finish_job(
                &claimed.lease,
                JobEnd::Retry {
                    error: &error,
                    after: wait,
                },
                None,
                at,
            )
            .unwrap()
            .unwrap();
        assert_eq!(job.error.as_deref(), Some(error.as_str()));
        if attempt < 3 {
            assert_eq!(job.state, JobState::Queued);
            let due = at + chrono::Duration::from_std(wait).unwrap();
            assert_eq!(job.run_after.timestamp(), due.timestamp());
            // Not before its delay.
            let early = due - chrono::Duration::seconds(1);
            assert!(store.claim_job("w", LEASE, early).unwrap().is_none());
            at = due;
        } else {
            assert_eq!(job.state, JobState::Dead);
            assert!(job.finished_at.is_some());
        }
    }
    let far = at + chrono::Duration::days(1);
    assert!(store.claim_job("w", LEASE, far).unwrap().is_none());
    let job = store.get_job(id).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Dead, 3));
    assert_eq!(job.error.as_deref(), Some("failure 3"));

    // A failure retrying cannot mend ends the job at once.
    let id = store.enqueue_job(&new_job(&payload, now)).unwrap().job.id;
    let claimed = store.claim_job("w", LEASE, now).unwrap().unwrap();
    assert_eq!(claimed.job.id, id);
    let job = store
        .finish_job(&claimed.lease, JobEnd::Failed("no such account"), None, now)
        .unwrap()
        .unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Failed, 1));
    assert_eq!(job.error.as_deref(), Some("no such account"));
}

fn a_lease_expiring_on_the_last_attempt_ends_dead(store: &mut Store) {
    let now = Utc::now();
    let payload = json!({});
    let mut job = new_job(&payload, now);
    job.max_attempts = 2;
    let id = store.enqueue_job(&job).unwrap().job.id;
    let mut at = now;
    for _ in 0..2 {
        assert_eq!(store.claim_job("w", LEASE, at).unwrap().unwrap().job.id, id);
        at += chrono::Duration::seconds(31);
    }
    assert!(store.claim_job("w", LEASE, at).unwrap().is_none());
    let job = store.get_job(id).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Dead, 2));
    assert!(job.error.unwrap().contains("stopped renewing its lease"));
}

fn a_dedup_key_keeps_one_unfinished_job(store: &mut Store) {
    let now = Utc::now();
    let tomorrow = now + chrono::Duration::days(1);
    let payload = json!({ "account": "tiktok:1" });
    let mut planned = new_job(&payload, tomorrow);
    planned.dedup_key = Some("refresh:tiktok:1");
    let first = store.enqueue_job(&planned).unwrap();
    assert!(first.created);
    assert!(
        store.claim_job("w", LEASE, now).unwrap().is_none(),
        "claimed before its time"
    );

    // Asked for now: the same job, moved earlier.
    let mut asked = planned.clone();
    asked.run_after = now;
    let again = store.enqueue_job(&asked).unwrap();
    assert!(!again.created);
    assert_eq!(again.job.id, first.job.id);
    assert_eq!(again.job.run_after.timestamp(), now.timestamp());
    // Planned later again: not moved back.
    let later = store.enqueue_job(&planned).unwrap();
    assert_eq!((later.created, later.job.id), (false, first.job.id));
    assert_eq!(later.job.run_after.timestamp(), now.timestamp());

    // Running counts as unfinished, and its end may plan the next under the same key.
    let claimed = store.claim_job("w", LEASE, now).unwrap().unwrap();
    assert_eq!(store.enqueue_job(&asked).unwrap().job.id, first.job.id);
    let result = json!({});
    store
        .finish_job(
            &claimed.lease,
            JobEnd::Succeeded(&result),
            Some(&planned),
            now,
        )
        .unwrap()
        .unwrap();
    let jobs = store.list_jobs(Some("test")).unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[1].state, JobState::Queued);
    assert_eq!(jobs[1].dedup_key.as_deref(), Some("refresh:tiktok:1"));
    assert_eq!(jobs[1].run_after.timestamp(), tomorrow.timestamp());

    // Concurrent enqueues of one key from two connections make one job.
    let url = store.url_redacted();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&url).unwrap();
                let payload = json!({});
                let mut ids = BTreeSet::new();
                for i in 0..20 {
                    let key = format!("k{i}");
                    let mut job = new_job(&payload, Utc::now());
                    job.dedup_key = Some(&key);
                    ids.insert(store.enqueue_job(&job).unwrap().job.id);
                }
                ids
            })
        })
        .collect();
    let ids: Vec<BTreeSet<i64>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(store.count_jobs(Some("test")).unwrap().queued, 21);
}

fn a_released_job_is_claimed_again_without_counting_the_attempt(store: &mut Store) {
    let now = Utc::now();
    let payload = json!({});
    let id = store.enqueue_job(&new_job(&payload, now)).unwrap().job.id;
    let claimed = store.claim_job("a", LEASE, now).unwrap().unwrap();
    assert!(store.release_job(&claimed.lease, now).unwrap());
    let job = store.get_job(id).unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Queued, 0));
    let again = store.claim_job("b", LEASE, now).unwrap().unwrap();
    assert_eq!((again.job.id, again.lease.attempt), (id, 1));
}

fn a_job_ends_once_with_its_result_and_its_input_is_dropped(store: &mut Store) {
    let now = Utc::now();
    let payload = json!({ "platform": "tiktok" });
    let file = vec![7u8; 4096];
    let mut job = new_job(&payload, now);
    job.input = Some(&file);
    let enqueued = store.enqueue_job(&job).unwrap();
    assert!(enqueued.job.has_input);
    assert_eq!(enqueued.job.payload, payload);
    let claimed = store.claim_job("w", LEASE, now).unwrap().unwrap();
    assert_eq!(claimed.input.as_deref(), Some(file.as_slice()));
    let result = json!({ "profile_id": 4 });
    let done = store
        .finish_job(&claimed.lease, JobEnd::Succeeded(&result), None, now)
        .unwrap()
        .unwrap();
    assert!(!done.has_input);
    assert_eq!(store.get_job(done.id).unwrap().unwrap(), done);
    let other = json!({ "profile_id": 5 });
    assert_eq!(
        store
            .finish_job(&claimed.lease, JobEnd::Succeeded(&other), None, now)
            .unwrap(),
        None,
        "a job ended twice"
    );
    assert_eq!(
        store.get_job(done.id).unwrap().unwrap().result,
        Some(result)
    );
    assert_eq!(store.get_job(done.id + 1000).unwrap(), None);
}

fn bad_jobs_are_refused_with_the_field_named(store: &mut Store) {
    let payload = json!({});
    let mut job = new_job(&payload, Utc::now());
    job.max_attempts = 0;
    let err = store.enqueue_job(&job).unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("max_attempts"), "{err}");
    job.max_attempts = 1;
    job.owner = Some("nobody");
    assert!(
        store.enqueue_job(&job).is_err(),
        "an owner that is not stored"
    );
    assert!(store.list_jobs(None).unwrap().is_empty());
}

fn jobs_are_counted_by_kind_and_state(store: &mut Store) {
    assert_eq!(store.count_jobs_by_kind().unwrap(), []);
    let now = Utc::now();
    let payload = json!({});
    for kind in ["refresh", "vectorize", "refresh", "refresh"] {
        let mut job = new_job(&payload, now);
        job.kind = kind;
        job.max_attempts = 1;
        store.enqueue_job(&job).unwrap();
    }
    // The oldest refresh runs, then dies on its only attempt; the next one runs.
    let first = store.claim_job("a", LEASE, now).unwrap().unwrap();
    assert_eq!(first.job.kind, "refresh");
    let retry = JobEnd::Retry {
        error: "the platform failed",
        after: Duration::ZERO,
    };
    store
        .finish_job(&first.lease, retry, None, now)
        .unwrap()
        .unwrap();
    let vectorize = store.claim_job("a", LEASE, now).unwrap().unwrap();
    assert_eq!(vectorize.job.kind, "vectorize");
    store
        .finish_job(&vectorize.lease, JobEnd::Succeeded(&json!({})), None, now)
        .unwrap()
        .unwrap();
    let running = store.claim_job("a", LEASE, now).unwrap().unwrap();
    assert_eq!(running.job.kind, "refresh");

    let by_kind = store.count_jobs_by_kind().unwrap();
    let refresh = JobCounts {
        queued: 1,
        running: 1,
        dead: 1,
        ..JobCounts::default()
    };
    let vectorized = JobCounts {
        succeeded: 1,
        ..JobCounts::default()
    };
    assert_eq!(
        by_kind,
        [
            ("refresh".to_owned(), refresh),
            ("vectorize".to_owned(), vectorized)
        ]
    );
    assert_eq!(refresh.of(JobState::Dead), 1);
    // The totals agree with the per-kind counts.
    let all = store.count_jobs(None).unwrap();
    assert_eq!(
        (all.queued, all.running, all.succeeded, all.dead),
        (1, 1, 1, 1)
    );
}

fn jobs_queued_together_are_all_queued_or_none(store: &mut Store) {
    let now = Utc::now();
    let payload = json!({});
    let keyed = |key: &'static str| NewJob {
        dedup_key: Some(key),
        ..new_job(&payload, now)
    };
    let queued = store
        .enqueue_jobs(&[keyed("a"), keyed("b"), keyed("a")])
        .unwrap();
    // In order, and a repeated key is the job queued first.
    assert_eq!(queued.len(), 3);
    assert!(queued[0].created && queued[1].created && !queued[2].created);
    assert_eq!(queued[2].job.id, queued[0].job.id);
    assert_eq!(store.list_jobs(None).unwrap().len(), 2);
    // One bad job: none of the batch is queued.
    let mut bad = keyed("c");
    bad.owner = Some("nobody");
    assert!(store.enqueue_jobs(&[keyed("d"), bad]).is_err());
    assert_eq!(store.list_jobs(None).unwrap().len(), 2);
}
