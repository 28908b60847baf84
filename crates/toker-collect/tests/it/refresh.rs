//! `refresh_account` against the platform replay (X) and a real store, on both backends:
//! a valid token collects, an expired one is renewed and stored sealed, a refused one asks
//! to reconnect, an export-connected account is left alone.

use chrono::{Duration, Utc};
use toker_collect::tokens::{SecretKey, TokenCipher, TokenField};
use toker_collect::{CollectError, RefreshOutcome, RefreshRequest, refresh_account};
use toker_model::{Platform, ValidationRules};
use toker_sources::http::{ApiConfig, Secret};
use toker_sources::oauth::{OAuthClient, OAuthClientConfig, PlatformTokens};
use toker_store::testing::TestDb;
use toker_store::{AccountMethod, AccountRecord, ConnectAccount, Placement, Store};
use toker_testkit::replay::{self, Replay};

/// The X account of the replay's fixtures.
const USER_ID: &str = "1487365209458921472";
const PRINCIPAL: &str = "usr_refresh-test";

struct Fixture {
    store: Store,
    _db: TestDb,
}

impl Fixture {
    fn sqlite() -> Self {
        let db = TestDb::sqlite();
        let store = Store::open(&db.url).unwrap();
        Fixture { store, _db: db }
    }

    fn postgres() -> Option<Self> {
        let db = TestDb::postgres()?;
        let store = Store::open(&db.url).unwrap();
        Some(Fixture { store, _db: db })
    }
}

/// The replay, and what a refresh needs to reach it.
struct Replayed {
    replay: Replay,
    cipher: TokenCipher,
    oauth: OAuthClient,
    api: ApiConfig,
}

async fn x() -> Replayed {
    let replay = Replay::start("127.0.0.1:0").await;
    let u = replay.uri();
    let mut config = OAuthClientConfig::new(
        Platform::X,
        replay::CLIENT_ID,
        Secret::new(replay::CLIENT_SECRET),
        "http://127.0.0.1:9/v1/connect/x/callback",
    );
    config.endpoints.authorize_url = format!("{u}/x/i/oauth2/authorize");
    config.endpoints.token_url = format!("{u}/x/2/oauth2/token");
    let mut api = ApiConfig::new(Platform::X);
    api.base_url = format!("{u}/x");
    Replayed {
        replay,
        cipher: TokenCipher::new(&SecretKey::random()),
        oauth: OAuthClient::new(config).unwrap(),
        api,
    }
}

/// Starts the replay and connects its X account with the `(access, refresh)` tokens, the
/// access expiring `expires_in` from now.
async fn connected(
    store: &mut Store,
    method: AccountMethod,
    (access, refresh): (&str, &str),
    expires_in: Duration,
) -> (Replayed, AccountRecord) {
    let p = x().await;
    let granted = PlatformTokens {
        access_token: Secret::new(access),
        expires_in: None,
        refresh_token: Some(Secret::new(refresh)),
        refresh_expires_in: None,
        scope: None,
        account_id: None,
    };
    let mut tokens = p.cipher.seal_tokens(Platform::X, USER_ID, &granted);
    tokens.access_expires_at = Some(Utc::now() + expires_in);
    let account = ConnectAccount {
        platform: Platform::X,
        user_id: USER_ID,
        username: "jonasweber_dev",
        profile: None,
        method,
        tokens: Some(tokens),
        session: None,
    };
    store
        .connect_account(&account, &mut |_| {
            Ok::<_, ()>(Placement::Proven(PRINCIPAL.to_owned()))
        })
        .unwrap()
        .unwrap();
    let record = store.get_account(Platform::X, USER_ID).unwrap().unwrap();
    (p, record)
}

async fn refresh(
    store: &mut Store,
    p: &Replayed,
    account: &AccountRecord,
) -> Result<RefreshOutcome, CollectError> {
    let rules = ValidationRules::default();
    let request = RefreshRequest {
        account,
        cipher: &p.cipher,
        oauth: &p.oauth,
        api: &p.api,
        research: None,
        rules: &rules,
        owner: Some(PRINCIPAL),
        sleeper: None,
    };
    refresh_account(store, &request).await
}

async fn a_valid_token_collects_and_a_second_refresh_changes_nothing(mut f: Fixture) {
    let (p, account) = connected(
        &mut f.store,
        AccountMethod::OAuth,
        (replay::X_ACCESS, replay::X_REFRESH),
        Duration::hours(1),
    )
    .await;
    let first = refresh(&mut f.store, &p, &account).await.unwrap();
    let RefreshOutcome::Updated(report) = first else {
        panic!("{first:?}");
    };
    let stored = report.profile.as_ref().unwrap();
    assert_eq!(stored.user_id, USER_ID);
    assert!(report.items.new > 0, "{report:?}");
    let again = refresh(&mut f.store, &p, &account).await.unwrap();
    assert!(
        matches!(&again, RefreshOutcome::Unchanged(r) if r.items.new == 0),
        "{again:?}"
    );
    assert!(
        p.replay
            .log()
            .iter()
            .all(|l| !l.path.contains("oauth2/token")),
        "a valid token is not renewed"
    );
    let owned = f.store.get_profile(stored.id).unwrap();
    assert_eq!(owned.owner.as_deref(), Some(PRINCIPAL));
}

async fn an_expired_token_is_renewed_and_stored_sealed(mut f: Fixture) {
    let (p, account) = connected(
        &mut f.store,
        AccountMethod::OAuth,
        ("an-expired-access-token", replay::X_REFRESH),
        Duration::minutes(-5),
    )
    .await;
    let outcome = refresh(&mut f.store, &p, &account).await.unwrap();
    assert!(matches!(outcome, RefreshOutcome::Updated(_)), "{outcome:?}");
    let renewed = f.store.get_account(Platform::X, USER_ID).unwrap().unwrap();
    let open = |sealed: &Option<Vec<u8>>, field| {
        p.cipher
            .open_token(sealed.as_deref(), Platform::X, USER_ID, field)
            .unwrap()
            .expose()
            .to_owned()
    };
    let access = open(&renewed.tokens.access_token, TokenField::Access);
    assert_ne!(access, "an-expired-access-token");
    assert_ne!(open(&renewed.tokens.refresh_token, TokenField::Refresh), "");
    assert!(
        renewed
            .tokens
            .access_expires_at
            .is_some_and(|at| at > Utc::now())
    );
    let sealed = renewed.tokens.access_token.unwrap();
    assert!(
        !sealed.windows(access.len()).any(|w| w == access.as_bytes()),
        "stored sealed"
    );
}

async fn a_refused_refresh_token_asks_to_reconnect(mut f: Fixture) {
    let (p, account) = connected(
        &mut f.store,
        AccountMethod::OAuth,
        ("an-expired-access-token", "a-revoked-refresh-token"),
        Duration::minutes(-5),
    )
    .await;
    let err = refresh(&mut f.store, &p, &account).await.unwrap_err();
    assert!(
        matches!(
            err,
            CollectError::AccessRevoked {
                platform: Platform::X,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("X no longer accepts"), "{err}");
    let kept = f.store.get_account(Platform::X, USER_ID).unwrap().unwrap();
    assert_eq!(kept.tokens, account.tokens, "the stored tokens stay");
}

async fn an_account_connected_by_export_is_left_alone(mut f: Fixture) {
    let (p, account) = connected(
        &mut f.store,
        AccountMethod::Export,
        (replay::X_ACCESS, replay::X_REFRESH),
        Duration::hours(1),
    )
    .await;
    let outcome = refresh(&mut f.store, &p, &account).await.unwrap();
    assert!(
        matches!(outcome, RefreshOutcome::ConnectedByExport),
        "{outcome:?}"
    );
    assert!(p.replay.log().is_empty(), "nothing asked of the platform");
}

toker_testkit::on_both_backends!(async Fixture:
    a_valid_token_collects_and_a_second_refresh_changes_nothing,
    an_expired_token_is_renewed_and_stored_sealed,
    a_refused_refresh_token_asks_to_reconnect,
    an_account_connected_by_export_is_left_alone,
);
