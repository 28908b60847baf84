//! Request budgets of the platform apps, shared by every process on one database.
//!
//! A platform app (TikTok's Research API project, an X app, …) allows so many requests per
//! window, whichever of Toker's processes sends them. Each app has a list of
//! [`BudgetRule`]s (e.g. 1,000 a day and 600 a minute); before each request a process
//! spends one request of every rule ([`Store::spend_budget`]), or learns how long to wait
//! when one is spent. Windows are fixed and aligned to the Unix epoch, so a day is a UTC
//! day (TikTok's quota resets at 00:00 UTC). When a platform answers that its limit is
//! reached, the process that saw it pauses the app for everyone until the reset it names
//! ([`Store::pause_budget`]).
//!
//! The API's own rate limits (per key, per client address) are counted the same way by
//! every replica: each adds what it let through to the window's counters now and then
//! ([`Store::add_rate_counts`]) and learns which keys are over the limit in the whole
//! service ([`Store::rate_keys_over`]).
//!
//! Spending is one write transaction: each rule's counter is raised only while it is under
//! its limit (a conditional `UPDATE`, which PostgreSQL serialises per row and SQLite per
//! database), and when one rule is spent the others are given back, so concurrent spenders
//! never pass a limit and a refused request costs nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::backend::dispatch;
use crate::checkpoints::rows::count_in;
use crate::connection::Transactions;
use crate::error::StoreError;
use crate::store::Store;

/// At most `limit` requests in each fixed window of `window` (whole seconds, at least one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetRule {
    /// Requests allowed per window.
    pub limit: u64,
    /// The window's length.
    pub window: Duration,
}

/// What spending one request of a budget gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// The request may be sent: every rule had room, and one was counted against each.
    Granted,
    /// Nothing was counted: a rule's window is spent, or a platform paused the app; ask
    /// again after this long.
    Wait(Duration),
}

/// A rule's limit and window as stored (whole seconds, at least one; a limit that fits).
pub(crate) fn stored(app: &str, rule: &BudgetRule) -> Result<(i64, i64), StoreError> {
    let invalid = |message: String| StoreError::Invalid {
        record: format!("the {app} budget"),
        message,
    };
    let secs = i64::try_from(rule.window.as_secs())
        .ok()
        .filter(|s| *s >= 1)
        .ok_or_else(|| {
            invalid(format!(
                "window: expected 1 second or more, got {:?}",
                rule.window
            ))
        })?;
    let limit = count_in(&format!("the {app} budget"), "limit", rule.limit)?;
    Ok((limit, secs))
}

impl Store {
    /// Spends one request of `app`'s budget at `now`: [`Spend::Granted`] when every rule
    /// had room (one is counted against each), else [`Spend::Wait`] with how long until
    /// the spent window ends or the app's pause is over (nothing counted). With no rules
    /// only a pause can make it wait.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a rule with a window under a second or a limit past
    /// `i64::MAX`; [`StoreError::Busy`]; [`StoreError::Database`].
    pub fn spend_budget(
        &mut self,
        app: &str,
        rules: &[BudgetRule],
        now: DateTime<Utc>,
    ) -> Result<Spend, StoreError> {
        let rules = rules
            .iter()
            .map(|rule| stored(app, rule))
            .collect::<Result<Vec<_>, _>>()?;
        let now = now.timestamp();
        let context = format!("spending a request of the {app} budget");
        let wait = if rules.is_empty() {
            dispatch!(self.conn_mut(), |c, q| q::budgets::paused(c, app, now))?
        } else {
            dispatch!(self.conn_mut(), |c, q| c
                .write(&context, |c| q::budgets::spend(c, app, &rules, now)))?
        };
        Ok(match wait {
            None => Spend::Granted,
            Some(secs) => Spend::Wait(Duration::from_secs(secs.max(1).unsigned_abs())),
        })
    }

    /// Pauses `app` for every process until `until` (a platform said its limit is
    /// reached); an earlier end than a pause already set changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Busy`]; [`StoreError::Database`].
    pub fn pause_budget(&mut self, app: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        let context = format!("pausing the {app} budget");
        let until = until.timestamp();
        dispatch!(self.conn_mut(), |c, q| c
            .write(&context, |c| q::budgets::pause(c, app, until)))
    }

    /// Adds each `(key, n)` of `counts` to `scope`'s one-minute window starting at
    /// `window_start` (Unix seconds) and returns each key's total in that window, in the
    /// same order; counters of older windows of `scope` are dropped.
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a count past `i64::MAX`; [`StoreError::Busy`];
    /// [`StoreError::Database`].
    pub fn add_rate_counts(
        &mut self,
        scope: &str,
        window_start: i64,
        counts: &[(String, u64)],
    ) -> Result<Vec<u64>, StoreError> {
        let counts = counts
            .iter()
            .map(|(key, n)| {
                count_in(&format!("the {scope} rate window"), "count", *n)
                    .map(|n| (key.as_str(), n))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let context = format!("counting requests against the {scope} rate limit");
        dispatch!(self.conn_mut(), |c, q| c.write(&context, |c| {
            q::budgets::add_rate_counts(c, scope, window_start, &counts)
        }))
    }

    /// The keys of `scope` with at least `limit` requests in the window starting at
    /// `window_start`, at most `max` of them.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn rate_keys_over(
        &mut self,
        scope: &str,
        window_start: i64,
        limit: u64,
        max: u32,
    ) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        dispatch!(self.conn_mut(), |c, q| q::budgets::rate_keys_over(
            c,
            scope,
            window_start,
            limit,
            i64::from(max)
        ))
    }

    /// How many requests of `app`'s budget were counted in each rule's current window at
    /// `now`, by window length in seconds.
    ///
    /// # Errors
    /// [`StoreError::Database`].
    pub fn budget_usage(
        &mut self,
        app: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(u64, u64)>, StoreError> {
        let now = now.timestamp();
        dispatch!(self.conn_mut(), |c, q| q::budgets::usage(c, app, now))
    }
}
