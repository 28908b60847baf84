//! The platform apps' request budgets, shared through the database by every `toker serve`
//! and `toker worker` on it (toker-store's `budgets`, toker-sources' `Budget`).
//!
//! Each app (the platform's OAuth app, and TikTok's Research API project, which has its own
//! quota) has a list of rules, `N/WINDOW` separated by commas, e.g. `300/15min,10000/day`,
//! set by `TOKER_CONNECT_<PLATFORM>_BUDGET` and `TOKER_CONNECT_TIKTOK_RESEARCH_BUDGET`
//! (`none` for no rule). The default is TikTok's published Research quota, 1,000 requests
//! a day; the others have none by default, since their limits depend on the app's plan,
//! but a rate limit any platform announces pauses its app for every process whatever the
//! rules.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use toker_sources::http::{Budget, SharedBudget};
use toker_store::{BudgetRule, Spend};

use crate::ApiError;
use crate::pool::StorePool;

/// The budget name of TikTok's Research API project (its quota is the project's, apart
/// from the Login Kit app's).
pub const TIKTOK_RESEARCH: &str = "tiktok-research";

/// Each app's budget and its setting: the platforms' apps by their names, and TikTok's
/// Research project.
pub const SETTINGS: [(&str, &str); 4] = [
    ("tiktok", "TOKER_CONNECT_TIKTOK_BUDGET"),
    ("instagram", "TOKER_CONNECT_INSTAGRAM_BUDGET"),
    ("x", "TOKER_CONNECT_X_BUDGET"),
    (TIKTOK_RESEARCH, "TOKER_CONNECT_TIKTOK_RESEARCH_BUDGET"),
];

/// The rules every app has unless its setting says otherwise: TikTok Research's
/// 1,000 requests a day (its quota resets at 00:00 UTC, a day window's end).
#[must_use]
pub fn default_budgets() -> BTreeMap<String, Vec<BudgetRule>> {
    BTreeMap::from([(
        TIKTOK_RESEARCH.to_owned(),
        vec![BudgetRule {
            limit: 1000,
            window: DAY,
        }],
    )])
}

const DAY: Duration = Duration::from_secs(86_400);

/// Reads each app's budget setting through `get` over `budgets`' defaults.
///
/// # Errors
/// [`ApiError::Config`] naming the setting whose value is not a list of rules.
pub(crate) fn from_lookup(
    get: impl Fn(&str) -> Option<String>,
    budgets: &mut BTreeMap<String, Vec<BudgetRule>>,
) -> Result<(), ApiError> {
    for (app, setting) in SETTINGS {
        if let Some(value) = get(setting) {
            let rules = parse_rules(&value).map_err(|message| ApiError::Config {
                field: setting,
                message,
            })?;
            budgets.insert(app.to_owned(), rules);
        }
    }
    Ok(())
}

/// `N/WINDOW[,N/WINDOW…]`, or `none`: WINDOW is a unit (`s`, `min`, `h`, `day`, or their
/// long forms) optionally led by a count, e.g. `15min`.
fn parse_rules(value: &str) -> Result<Vec<BudgetRule>, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    value
        .split(',')
        .map(|rule| parse_rule(rule.trim()))
        .collect()
}

fn parse_rule(rule: &str) -> Result<BudgetRule, String> {
    let expected = "expected rules like `300/15min,10000/day` (N requests per window of \
                    s, min, h or day), or `none`";
    let (limit, window) = rule
        .split_once('/')
        .ok_or_else(|| format!("{rule:?}: {expected}"))?;
    let limit: u64 = limit
        .trim()
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| format!("{rule:?}: the count must be a whole number of at least 1"))?;
    let window = window.trim();
    let digits = window
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(window.len());
    let (count, unit) = window.split_at(digits);
    let count: u64 = if count.is_empty() {
        1
    } else {
        count
            .parse()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| format!("{rule:?}: {expected}"))?
    };
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "second" | "seconds" => 1,
        "min" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        _ => return Err(format!("{rule:?}: {expected}")),
    };
    let secs = count
        .checked_mul(unit)
        .ok_or_else(|| format!("{rule:?}: the window is too long"))?;
    Ok(BudgetRule {
        limit,
        window: Duration::from_secs(secs),
    })
}

/// The budgets over the database: each spend is a short write transaction on a pooled
/// connection, off the async threads.
#[derive(Debug)]
pub(crate) struct StoreBudget {
    pool: StorePool,
    rules: BTreeMap<String, Vec<BudgetRule>>,
}

impl StoreBudget {
    pub(crate) fn new(pool: StorePool, rules: BTreeMap<String, Vec<BudgetRule>>) -> Arc<Self> {
        Arc::new(StoreBudget { pool, rules })
    }

    /// The budget of `app`, for a client's [`ApiConfig::budget`].
    ///
    /// [`ApiConfig::budget`]: toker_sources::http::ApiConfig::budget
    pub(crate) fn shared(self: &Arc<Self>, app: &str) -> SharedBudget {
        SharedBudget {
            app: app.to_owned(),
            budget: self.clone(),
        }
    }
}

#[async_trait]
impl Budget for StoreBudget {
    async fn spend(&self, app: &str) -> Result<Option<Duration>, String> {
        let rules = self.rules.get(app).cloned().unwrap_or_default();
        let app = app.to_owned();
        let spent = self
            .pool
            .run(move |store| {
                store
                    .spend_budget(&app, &rules, Utc::now())
                    .map_err(ApiError::from)
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok(match spent {
            Spend::Granted => None,
            Spend::Wait(wait) => Some(wait),
        })
    }

    async fn pause(&self, app: &str, wait: Duration) {
        let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        let name = app.to_owned();
        let paused = self
            .pool
            .run(move |store| store.pause_budget(&name, until).map_err(ApiError::from))
            .await;
        match paused {
            Ok(()) => tracing::info!(
                app,
                wait_s = wait.as_secs(),
                "paused the app's shared budget"
            ),
            Err(error) => tracing::warn!(app, %error, "could not pause the app's shared budget"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(limit: u64, secs: u64) -> BudgetRule {
        BudgetRule {
            limit,
            window: Duration::from_secs(secs),
        }
    }

    #[test]
    fn rules_read_counts_and_windows_in_any_unit() {
        assert_eq!(
            parse_rules("300/15min, 10000/day").unwrap(),
            [rule(300, 900), rule(10_000, 86_400)]
        );
        assert_eq!(
            parse_rules("5/2s,1/H").unwrap(),
            [rule(5, 2), rule(1, 3600)]
        );
        assert_eq!(parse_rules(" none ").unwrap(), []);
    }

    #[test]
    fn bad_rules_say_what_was_expected() {
        for bad in ["300", "0/min", "x/min", "10/fortnight", "10/0min", ""] {
            let err = parse_rules(bad).unwrap_err();
            assert!(
                err.contains("expected") || err.contains("at least 1"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn settings_are_read_per_app_over_the_defaults() {
        let mut budgets = default_budgets();
        from_lookup(
            |name| (name == "TOKER_CONNECT_X_BUDGET").then(|| "75/15min".to_owned()),
            &mut budgets,
        )
        .unwrap();
        assert_eq!(budgets["x"], [rule(75, 900)]);
        assert_eq!(budgets[TIKTOK_RESEARCH], [rule(1000, 86_400)]);
        let err = from_lookup(
            |name| (name == "TOKER_CONNECT_TIKTOK_RESEARCH_BUDGET").then(|| "lots".to_owned()),
            &mut budgets,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("TOKER_CONNECT_TIKTOK_RESEARCH_BUDGET"),
            "{err}"
        );
    }
}
