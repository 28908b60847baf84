//! Principals, their accounts, sessions and OAuth states (toker-api's connect flow), the
//! same on SQLite and PostgreSQL.

use chrono::{Duration, Utc};
use toker_model::{Listing, Platform};
use toker_store::{
    AccountMethod, AccountTokens, ConnectAccount, NewJob, NewOAuthState, NewSession, Placement,
    StateUse, Store, StoreError, StoredVector, VocabularyRecord, Written,
};
use toker_testkit::on_both_backends;
use toker_testkit::samples::{profile, raw};

on_both_backends!(
    store:
    connecting_writes_principal_profile_account_and_session_together,
    a_refusal_writes_nothing,
    an_export_keeps_the_oauth_tokens_of_the_same_principal,
    unproven_copies_are_private_and_a_proof_unlocks_its_uploaders,
    a_state_is_used_once_by_its_browser_before_it_expires,
    a_spent_state_is_remembered_once_and_purged_after_expiry,
    erasing_a_principal_leaves_nothing_of_theirs,
    the_planner_finds_oauth_people_with_no_unfinished_job,
    an_upload_signs_up_with_its_job_and_stores_only_for_a_principal_still_there,
);

fn tokens(tag: u8) -> AccountTokens {
    AccountTokens {
        access_token: Some(vec![tag; 40]),
        access_expires_at: Some(Utc::now() + Duration::hours(2)),
        refresh_token: Some(vec![tag + 1; 40]),
        refresh_expires_at: None,
        scope: Some("like.read".to_owned()),
    }
}

/// What a connect of `p` (from its raw JSON `r`) brings: no tokens, maybe a session.
pub(crate) fn account_of<'a>(
    p: &'a toker_model::Profile,
    r: &'a serde_json::Value,
    method: AccountMethod,
    session: Option<NewSession>,
) -> ConnectAccount<'a> {
    ConnectAccount {
        platform: Platform::X,
        user_id: &p.user_id,
        username: &p.username,
        profile: Some((p, r)),
        method,
        tokens: None,
        session,
    }
}

/// Connects profile `i` for `principal`: proven for OAuth and for an export of an account
/// the principal holds, else their unproven copy.
fn connect(
    store: &mut Store,
    i: u64,
    principal: &str,
    method: AccountMethod,
    tokens: Option<AccountTokens>,
    session: Option<&str>,
) -> toker_store::ConnectedAccount {
    connect_profile(store, &profile(i), principal, method, tokens, session)
}

fn connect_profile(
    store: &mut Store,
    p: &toker_model::Profile,
    principal: &str,
    method: AccountMethod,
    tokens: Option<AccountTokens>,
    session: Option<&str>,
) -> toker_store::ConnectedAccount {
    let r = raw(p);
    let session = session.map(|hash| NewSession {
        token_hash: hash.to_owned(),
        expires_at: Utc::now() + Duration::days(30),
    });
    let account = ConnectAccount {
        tokens,
        ..account_of(p, &r, method, session)
    };
    store
        .connect_account(&account, &mut |claim| {
            let holds = claim
                .account
                .as_ref()
                .is_some_and(|a| a.principal_id == principal);
            Ok::<_, ()>(if method == AccountMethod::OAuth || holds {
                Placement::Proven(principal.to_owned())
            } else {
                Placement::Unproven(principal.to_owned())
            })
        })
        .unwrap()
        .unwrap()
}

fn connecting_writes_principal_profile_account_and_session_together(store: &mut Store) {
    let done = connect(
        store,
        1,
        "usr_a",
        AccountMethod::OAuth,
        Some(tokens(7)),
        Some("hash-1"),
    );
    assert!(done.new_principal && done.proven);
    assert!(done.profile.is_some_and(Written::created));
    let stored = store.get_profile(done.profile_id.unwrap()).unwrap();
    assert!(!stored.unproven);
    assert_eq!(stored.owner.as_deref(), Some("usr_a"));
    let account = store
        .get_account(Platform::X, &profile(1).user_id)
        .unwrap()
        .unwrap();
    assert_eq!(account.principal_id, "usr_a");
    assert_eq!(account.method, AccountMethod::OAuth);
    assert_eq!(account.tokens.access_token, Some(vec![7; 40]));
    let session = store.get_session("hash-1").unwrap().unwrap();
    assert_eq!(session.principal_id, "usr_a");
    assert!(store.get_principal("usr_a").unwrap().is_some());

    // Connecting again updates the same profile and keeps the principal.
    let again = connect(store, 1, "usr_a", AccountMethod::OAuth, None, None);
    assert!(!again.new_principal);
    assert_eq!(
        (again.profile_id, again.profile),
        (done.profile_id, done.profile_id.map(Written::Updated))
    );
    let account = store
        .get_account(Platform::X, &profile(1).user_id)
        .unwrap()
        .unwrap();
    assert_eq!(account.tokens, {
        let mut t = tokens(7);
        t.access_expires_at = account.tokens.access_expires_at;
        t
    });
}

fn a_refusal_writes_nothing(store: &mut Store) {
    let p = profile(2);
    let r = raw(&p);
    let session = NewSession {
        token_hash: "h".to_owned(),
        expires_at: Utc::now(),
    };
    let account = account_of(&p, &r, AccountMethod::Export, Some(session));
    let mut seen = None;
    let refused = store
        .connect_account(&account, &mut |claim| {
            seen = Some(claim.clone());
            Err::<Placement, _>("taken")
        })
        .unwrap();
    assert_eq!(refused, Err("taken"));
    let claim = seen.unwrap();
    assert!(claim.profile.is_none() && claim.account.is_none());
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 0);
    assert!(store.get_session("h").unwrap().is_none());

    // The claim shows a stored profile and its owner.
    let id = store
        .create_profile(Platform::X, &p, &r, Some("keyowner1234"))
        .unwrap();
    store
        .connect_account(&account, &mut |claim| {
            let owner = claim.profile.as_ref().unwrap();
            assert_eq!(
                (owner.id, owner.owner.as_deref()),
                (id, Some("keyowner1234"))
            );
            Err::<Placement, _>(())
        })
        .unwrap()
        .unwrap_err();
}

fn an_export_keeps_the_oauth_tokens_of_the_same_principal(store: &mut Store) {
    connect(
        store,
        3,
        "usr_b",
        AccountMethod::OAuth,
        Some(tokens(3)),
        None,
    );
    connect(store, 3, "usr_b", AccountMethod::Export, None, None);
    let account = store
        .get_account(Platform::X, &profile(3).user_id)
        .unwrap()
        .unwrap();
    assert_eq!(account.method, AccountMethod::OAuth);
    assert_eq!(account.tokens.refresh_token, Some(vec![4; 40]));

    // Another principal's upload is their unproven copy: the account stays usr_b's.
    let copy = connect(store, 3, "usr_c", AccountMethod::Export, None, None);
    assert!(!copy.proven);
    assert_eq!(store.list_accounts("usr_c").unwrap(), vec![]);
    assert_eq!(
        store.get_account(Platform::X, &profile(3).user_id).unwrap(),
        Some(account)
    );
    // Moving to another principal (a proof without tokens) drops the tokens.
    connect(store, 3, "usr_c", AccountMethod::OAuth, None, None);
    let account = store
        .get_account(Platform::X, &profile(3).user_id)
        .unwrap()
        .unwrap();
    assert_eq!(account.principal_id, "usr_c");
    assert_eq!(account.method, AccountMethod::OAuth);
    assert_eq!(account.tokens, AccountTokens::default());
    assert_eq!(store.list_accounts("usr_b").unwrap(), vec![]);

    store
        .update_account_tokens(Platform::X, &profile(3).user_id, &tokens(9))
        .unwrap();
    let account = store.list_accounts("usr_c").unwrap().pop().unwrap();
    assert_eq!(account.tokens.access_token, Some(vec![9; 40]));
    let err = store
        .update_account_tokens(Platform::X, "nobody", &tokens(9))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

fn a_state_is_used_once_by_its_browser_before_it_expires(store: &mut Store) {
    let now = Utc::now();
    let state = |hash: &str, expires_at| NewOAuthState {
        state_hash: hash.to_owned(),
        platform: Platform::TikTok,
        browser_hash: "browser".to_owned(),
        code_verifier: Some(vec![1, 2, 3]),
        principal_id: None,
        session_mode: "cookie".to_owned(),
        expires_at,
    };
    store
        .create_oauth_state(&state("s1", now + Duration::minutes(10)))
        .unwrap();
    store
        .create_oauth_state(&state("old", now - Duration::minutes(1)))
        .unwrap();
    let err = store
        .create_oauth_state(&state("s1", now + Duration::minutes(10)))
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");

    assert_eq!(
        store.consume_oauth_state("nope", "browser", now).unwrap(),
        StateUse::Unknown
    );
    let StateUse::Refused(other) = store.consume_oauth_state("s1", "other", now).unwrap() else {
        panic!("another browser must not use the state");
    };
    assert!(other.consumed_at.is_none());
    let StateUse::Consumed(used) = store.consume_oauth_state("s1", "browser", now).unwrap() else {
        panic!("the state's own browser uses it");
    };
    assert_eq!(used.code_verifier, Some(vec![1, 2, 3]));
    let StateUse::Refused(again) = store.consume_oauth_state("s1", "browser", now).unwrap() else {
        panic!("a state is used once");
    };
    assert!(again.consumed_at.is_some());
    let StateUse::Refused(expired) = store.consume_oauth_state("old", "browser", now).unwrap()
    else {
        panic!("an expired state is refused");
    };
    assert!(expired.consumed_at.is_none() && expired.expires_at < now);

    assert_eq!(store.purge_expired_sessions_and_states(now).unwrap(), 1);
    assert_eq!(
        store.consume_oauth_state("old", "browser", now).unwrap(),
        StateUse::Unknown
    );
}

fn a_spent_state_is_remembered_once_and_purged_after_expiry(store: &mut Store) {
    let now = Utc::now();
    let state = NewOAuthState {
        state_hash: "spent".to_owned(),
        platform: Platform::X,
        browser_hash: String::new(),
        code_verifier: None,
        principal_id: None,
        session_mode: "cookie".to_owned(),
        expires_at: now + Duration::minutes(10),
    };
    assert!(!store.oauth_state_known("spent").unwrap());
    assert!(store.spend_oauth_state(&state, now).unwrap(), "first use");
    assert!(store.oauth_state_known("spent").unwrap());
    assert!(!store.spend_oauth_state(&state, now).unwrap(), "a replay");
    // The refused replay left the connection usable (no aborted transaction).
    assert!(store.oauth_state_known("spent").unwrap());
    let StateUse::Refused(record) = store.consume_oauth_state("spent", "", now).unwrap() else {
        panic!("a spent state is used");
    };
    assert!(record.consumed_at.is_some());
    assert_eq!(
        store
            .purge_expired_sessions_and_states(now + Duration::minutes(11))
            .unwrap(),
        1
    );
    assert!(!store.oauth_state_known("spent").unwrap());
}

fn erasing_a_principal_leaves_nothing_of_theirs(store: &mut Store) {
    connect(
        store,
        4,
        "usr_d",
        AccountMethod::OAuth,
        Some(tokens(1)),
        Some("d-1"),
    );
    let other = connect(store, 5, "usr_e", AccountMethod::OAuth, None, Some("e-1"));
    store
        .create_session(
            "usr_d",
            &NewSession {
                token_hash: "d-2".to_owned(),
                expires_at: Utc::now(),
            },
        )
        .unwrap();
    store
        .create_oauth_state(&NewOAuthState {
            state_hash: "d-state".to_owned(),
            platform: Platform::X,
            browser_hash: "b".to_owned(),
            code_verifier: None,
            principal_id: Some("usr_d".to_owned()),
            session_mode: "cookie".to_owned(),
            expires_at: Utc::now() + Duration::minutes(5),
        })
        .unwrap();
    let erased = store.delete_principal("usr_d").unwrap();
    assert_eq!(
        (
            erased.profiles,
            erased.accounts,
            erased.sessions,
            erased.oauth_states
        ),
        (1, 1, 2, 1)
    );
    assert!(store.get_principal("usr_d").unwrap().is_none());
    assert!(store.list_accounts("usr_d").unwrap().is_empty());
    assert!(store.list_sessions("usr_d").unwrap().is_empty());
    assert_eq!(store.count_profiles(&Listing::owner("usr_d")).unwrap(), 0);
    // The other person is untouched.
    assert_eq!(
        store
            .get_profile(other.profile_id.unwrap())
            .unwrap()
            .owner
            .as_deref(),
        Some("usr_e")
    );
    assert!(store.get_session("e-1").unwrap().is_some());
    let err = store.delete_principal("usr_d").unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
}

fn unproven_copies_are_private_and_a_proof_unlocks_its_uploaders(store: &mut Store) {
    let real = profile(6);
    let mut forged = profile(6);
    forged.number_of_likes = Some(999);
    forged.username = "forged".to_owned();
    // The attacker uploads first, the owner second: two private copies, neither blocked.
    let attacker = connect_profile(store, &forged, "usr_att", AccountMethod::Export, None, None);
    let owner = connect_profile(store, &real, "usr_own", AccountMethod::Export, None, None);
    assert!(!attacker.proven && !owner.proven);
    assert!(owner.profile.is_some_and(Written::created));
    assert_ne!(attacker.profile_id, owner.profile_id);
    assert!(
        store
            .get_account(Platform::X, &real.user_id)
            .unwrap()
            .is_none()
    );
    // Nobody else's listing, count or key lookup sees them; each uploader sees their own.
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 0);
    assert!(store.list_profiles(&Listing::default()).unwrap().is_empty());
    let err = store
        .get_profile_by_key(Platform::X, &real.user_id)
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    let own = store.list_profiles(&Listing::owner("usr_own")).unwrap();
    assert_eq!(own.len(), 1);
    assert!(own[0].unproven && own[0].username == real.username);
    // The account's profile may still be stored (an import here): no upload holds its place.
    let keyed = store
        .create_profile(Platform::X, &real, &raw(&real), None)
        .unwrap();
    // Vectors of unproven copies are kept apart from the ones others match with.
    let ids = [
        attacker.profile_id.unwrap(),
        owner.profile_id.unwrap(),
        keyed,
    ];
    let vocabulary = VocabularyRecord {
        version: "v1".to_owned(),
        json: "{}".to_owned(),
    };
    let vectors = ids.map(|id| StoredVector {
        profile_id: id,
        platform: Platform::X,
        indices: vec![0],
        values: vec![1.0],
    });
    store
        .save_vectors(&vocabulary, &mut vectors.into_iter())
        .unwrap();
    let public: Vec<i64> = store
        .load_vectors(None)
        .unwrap()
        .iter()
        .map(|v| v.profile_id)
        .collect();
    assert_eq!(public, [keyed]);
    assert_eq!(store.load_unproven_vectors().unwrap().len(), 2);

    // The owner proves the account without data for a profile (Instagram's API): their
    // upload becomes the account's profile, replacing the unowned one; the attacker's
    // copy stays private to the attacker.
    let p = &real;
    let proof = ConnectAccount {
        platform: Platform::X,
        user_id: &p.user_id,
        username: &p.username,
        profile: None,
        method: AccountMethod::OAuth,
        tokens: Some(tokens(5)),
        session: None,
    };
    let proven = store
        .connect_account(&proof, &mut |claim| {
            assert_eq!(claim.profile.as_ref().map(|p| p.id), Some(keyed));
            Ok::<_, ()>(Placement::Proven("usr_own".to_owned()))
        })
        .unwrap()
        .unwrap();
    assert!(proven.proven && proven.profile.is_none());
    assert_eq!(proven.profile_id, owner.profile_id);
    let stored = store
        .get_profile_by_key(Platform::X, &real.user_id)
        .unwrap();
    assert_eq!(Some(stored.id), owner.profile_id);
    assert!(!stored.unproven);
    assert_eq!(stored.owner.as_deref(), Some("usr_own"));
    assert_eq!(stored.profile.number_of_likes, real.number_of_likes);
    assert!(matches!(
        store.get_profile(keyed).unwrap_err(),
        StoreError::NotFound { .. }
    ));
    let account = store
        .get_account(Platform::X, &real.user_id)
        .unwrap()
        .unwrap();
    assert_eq!(
        (account.principal_id.as_str(), account.method),
        ("usr_own", AccountMethod::OAuth)
    );
    let public: Vec<i64> = store
        .load_vectors(None)
        .unwrap()
        .iter()
        .map(|v| v.profile_id)
        .collect();
    assert_eq!(public, [owner.profile_id.unwrap()]);
    let theirs = store.list_profiles(&Listing::owner("usr_att")).unwrap();
    assert_eq!(theirs.len(), 1);
    assert!(theirs[0].unproven && theirs[0].username == "forged");
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 1);

    // The proven owner's next upload goes to the account's profile, not a copy.
    let again = connect_profile(store, &real, "usr_own", AccountMethod::Export, None, None);
    assert!(again.proven);
    assert_eq!(
        (again.profile_id, again.profile),
        (owner.profile_id, owner.profile_id.map(Written::Updated))
    );
    // Erasing the attacker erases their copy only.
    assert_eq!(store.delete_principal("usr_att").unwrap().profiles, 1);
    assert_eq!(store.count_profiles(&Listing::default()).unwrap(), 1);
}

fn the_planner_finds_oauth_people_with_no_unfinished_job(store: &mut Store) {
    connect(
        store,
        1,
        "usr_a",
        AccountMethod::OAuth,
        Some(tokens(1)),
        None,
    );
    connect(
        store,
        2,
        "usr_b",
        AccountMethod::OAuth,
        Some(tokens(2)),
        None,
    );
    connect(store, 3, "usr_c", AccountMethod::Export, None, None);
    // A second OAuth account of usr_a: still one person to plan.
    connect(
        store,
        4,
        "usr_a",
        AccountMethod::OAuth,
        Some(tokens(3)),
        None,
    );
    assert_eq!(
        store.principals_without_job("refresh:", 10).unwrap(),
        ["usr_a", "usr_b"]
    );
    assert_eq!(
        store.principals_without_job("refresh:", 1).unwrap(),
        ["usr_a"]
    );
    let payload = serde_json::json!({});
    let job = |key: &'static str| NewJob {
        kind: "refresh",
        payload: &payload,
        input: None,
        owner: None,
        max_attempts: 1,
        run_after: Utc::now(),
        dedup_key: Some(key),
    };
    store.enqueue_job(&job("refresh:usr_a")).unwrap();
    // Another kind's key is not this schedule's.
    store.enqueue_job(&job("other:usr_b")).unwrap();
    assert_eq!(
        store.principals_without_job("refresh:", 10).unwrap(),
        ["usr_b"]
    );
    // Once usr_a's job ended, they need planning again.
    let claimed = store
        .claim_job("w", std::time::Duration::from_secs(30), Utc::now())
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.dedup_key.as_deref(), Some("refresh:usr_a"));
    let result = serde_json::json!({});
    store
        .finish_job(
            &claimed.lease,
            toker_store::JobEnd::Succeeded(&result),
            None,
            Utc::now(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        store.principals_without_job("refresh:", 10).unwrap(),
        ["usr_a", "usr_b"]
    );
}

fn an_upload_signs_up_with_its_job_and_stores_only_for_a_principal_still_there(store: &mut Store) {
    let payload = serde_json::json!({ "platform": "x", "principal": "usr_up" });
    let zip = b"PK\x05\x06 an export".to_vec();
    let job = |owner| NewJob {
        kind: "import-export",
        payload: &payload,
        input: Some(&zip),
        owner,
        max_attempts: 3,
        run_after: Utc::now(),
        dedup_key: None,
    };
    let session = NewSession {
        token_hash: "up-1".to_owned(),
        expires_at: Utc::now() + Duration::days(30),
    };
    // The principal, its session and its job, together.
    let queued = store
        .create_principal_with_job("usr_up", &session, &job(Some("usr_up")))
        .unwrap();
    assert!(queued.created && queued.job.has_input);
    assert_eq!(queued.job.owner.as_deref(), Some("usr_up"));
    let under_way = store.unfinished_jobs_of("usr_up", "import-export").unwrap();
    assert_eq!(under_way, std::slice::from_ref(&queued.job));
    assert!(
        store
            .unfinished_jobs_of("usr_up", "refresh")
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .unfinished_jobs_of("usr_x", "import-export")
            .unwrap()
            .is_empty()
    );
    assert!(store.get_principal("usr_up").unwrap().is_some());
    assert_eq!(
        store.get_session("up-1").unwrap().unwrap().principal_id,
        "usr_up"
    );
    // A job that cannot be queued (an owner nobody is) leaves no principal behind.
    let refused = store.create_principal_with_job(
        "usr_half",
        &NewSession {
            token_hash: "half-1".to_owned(),
            expires_at: Utc::now() + Duration::days(1),
        },
        &job(Some("usr_nobody")),
    );
    assert!(refused.is_err());
    assert!(store.get_principal("usr_half").unwrap().is_none());
    assert!(store.get_session("half-1").unwrap().is_none());

    // The import stores for the principal it is for, and never for another or a new one.
    let p = profile(9);
    let r = raw(&p);
    let account = account_of(&p, &r, AccountMethod::Export, None);
    let as_ = |who: &'static str| {
        move |_: &toker_store::AccountClaim| Ok::<_, ()>(Placement::Unproven(who.to_owned()))
    };
    let err = store
        .connect_account_for("usr_up", &account, &mut as_("usr_other"))
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    let done = store
        .connect_account_for("usr_up", &account, &mut as_("usr_up"))
        .unwrap()
        .unwrap();
    assert!(!done.new_principal && !done.proven);
    // Erased meanwhile: the import writes nothing, and the person stays erased.
    let erased = store.delete_principal("usr_up").unwrap();
    assert_eq!((erased.profiles, erased.sessions, erased.jobs), (1, 1, 1));
    assert!(store.get_job(queued.job.id).unwrap().is_none());
    let err = store
        .connect_account_for("usr_up", &account, &mut as_("usr_up"))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(store.get_principal("usr_up").unwrap().is_none());
    let all = Listing {
        unproven: true,
        ..Listing::default()
    };
    assert_eq!(store.count_profiles(&all).unwrap(), 0);
}
