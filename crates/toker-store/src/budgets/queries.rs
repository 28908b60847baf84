// The platform apps' shared request budgets.
//
// Included once per backend by `crate::backend`; `Conn` is that backend's connection.

use diesel::prelude::*;

use super::Conn;
use crate::error::{StoreError, db};
use crate::schema::platform_budgets as b;
use crate::schema::rate_windows as r;

/// The `window_seconds` of an app's pause row.
const PAUSE: i64 = 0;

/// Seconds until `app`'s pause ends, if it is paused at `now`.
pub(crate) fn paused(c: &mut Conn, app: &str, now: i64) -> Result<Option<i64>, StoreError> {
    let until = b::table
        .filter(b::app.eq(app))
        .filter(b::window_seconds.eq(PAUSE))
        .select(b::window_start)
        .first::<i64>(c)
        .optional()
        .map_err(db(format!("reading the pause of the {app} budget")))?;
    Ok(until.filter(|u| *u > now).map(|u| u - now))
}

/// Spends one request of every `(limit, window_seconds)` rule, or none: `Some(seconds to
/// wait)` when a rule is spent or the app is paused.
pub(crate) fn spend(
    c: &mut Conn,
    app: &str,
    rules: &[(i64, i64)],
    now: i64,
) -> Result<Option<i64>, StoreError> {
    if let Some(wait) = paused(c, app, now)? {
        return Ok(Some(wait));
    }
    let context = || format!("spending a request of the {app} budget");
    let mut counted: Vec<i64> = Vec::with_capacity(rules.len());
    for &(limit, secs) in rules {
        let start = now - now.rem_euclid(secs);
        let this = b::table
            .filter(b::app.eq(app))
            .filter(b::window_seconds.eq(secs));
        diesel::insert_into(b::table)
            .values((
                b::app.eq(app),
                b::window_seconds.eq(secs),
                b::window_start.eq(start),
                b::used.eq(0_i64),
            ))
            .on_conflict((b::app, b::window_seconds))
            .do_nothing()
            .execute(c)
            .map_err(db(context()))?;
        // A new window starts empty (a process whose clock is behind counts into the
        // window a process ahead of it opened).
        diesel::update(this.filter(b::window_start.lt(start)))
            .set((b::window_start.eq(start), b::used.eq(0_i64)))
            .execute(c)
            .map_err(db(context()))?;
        let raised = diesel::update(this.filter(b::used.lt(limit)))
            .set(b::used.eq(b::used + 1))
            .execute(c)
            .map_err(db(context()))?;
        if raised == 0 {
            for &secs in &counted {
                diesel::update(
                    b::table
                        .filter(b::app.eq(app))
                        .filter(b::window_seconds.eq(secs)),
                )
                .set(b::used.eq(b::used - 1))
                .execute(c)
                .map_err(db(context()))?;
            }
            let opened = this
                .select(b::window_start)
                .first::<i64>(c)
                .map_err(db(context()))?;
            return Ok(Some((opened.max(start) + secs - now).max(1)));
        }
        counted.push(secs);
    }
    Ok(None)
}

/// Pauses `app` until `until` (Unix seconds), unless it is paused longer already.
pub(crate) fn pause(c: &mut Conn, app: &str, until: i64) -> Result<(), StoreError> {
    let context = || format!("pausing the {app} budget");
    diesel::insert_into(b::table)
        .values((
            b::app.eq(app),
            b::window_seconds.eq(PAUSE),
            b::window_start.eq(until),
            b::used.eq(0_i64),
        ))
        .on_conflict((b::app, b::window_seconds))
        .do_nothing()
        .execute(c)
        .map_err(db(context()))?;
    diesel::update(
        b::table
            .filter(b::app.eq(app))
            .filter(b::window_seconds.eq(PAUSE))
            .filter(b::window_start.lt(until)),
    )
    .set(b::window_start.eq(until))
    .execute(c)
    .map_err(db(context()))?;
    Ok(())
}

/// `(window_seconds, used)` of each of `app`'s rules whose window is current at `now`.
pub(crate) fn usage(c: &mut Conn, app: &str, now: i64) -> Result<Vec<(u64, u64)>, StoreError> {
    let rows = b::table
        .filter(b::app.eq(app))
        .filter(b::window_seconds.gt(PAUSE))
        .select((b::window_seconds, b::window_start, b::used))
        .order(b::window_seconds)
        .load::<(i64, i64, i64)>(c)
        .map_err(db(format!("reading the {app} budget")))?;
    Ok(rows
        .into_iter()
        .map(|(secs, start, used)| {
            let used = if start + secs > now { used } else { 0 };
            (secs.unsigned_abs(), used.unsigned_abs())
        })
        .collect())
}

/// Adds `counts` to `scope`'s window at `window_start`; the keys' totals, in order.
pub(crate) fn add_rate_counts(
    c: &mut Conn,
    scope: &str,
    window_start: i64,
    counts: &[(&str, i64)],
) -> Result<Vec<u64>, StoreError> {
    let context = || format!("counting requests against the {scope} rate limit");
    diesel::delete(
        r::table
            .filter(r::scope.eq(scope))
            .filter(r::window_start.lt(window_start)),
    )
    .execute(c)
    .map_err(db(context()))?;
    let mut totals = Vec::with_capacity(counts.len());
    for &(key, n) in counts {
        let used = diesel::insert_into(r::table)
            .values((
                r::scope.eq(scope),
                r::key.eq(key),
                r::window_start.eq(window_start),
                r::used.eq(n),
            ))
            .on_conflict((r::scope, r::key, r::window_start))
            .do_update()
            .set(r::used.eq(r::used + n))
            .returning(r::used)
            .get_result::<i64>(c)
            .map_err(db(context()))?;
        totals.push(used.unsigned_abs());
    }
    Ok(totals)
}

/// Up to `max` keys of `scope` with at least `limit` requests in the window.
pub(crate) fn rate_keys_over(
    c: &mut Conn,
    scope: &str,
    window_start: i64,
    limit: i64,
    max: i64,
) -> Result<Vec<String>, StoreError> {
    r::table
        .filter(r::scope.eq(scope))
        .filter(r::window_start.eq(window_start))
        .filter(r::used.ge(limit))
        .select(r::key)
        .limit(max)
        .load(c)
        .map_err(db(format!("reading the keys over the {scope} rate limit")))
}
