//! A platform app's request budget shared by every process that sends its requests.
//!
//! A client whose [`ApiConfig::budget`](super::ApiConfig::budget) is set spends one
//! request of the budget before each request it sends (retries included: a platform
//! counts them too), waits when the budget says so, and tells the budget when the platform
//! answers that its limit is reached, so that the other processes pause as well. This
//! crate holds no state across processes: the [`Budget`] is implemented over the database
//! by the crates that have one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// A request budget several clients, possibly in several processes, spend together.
#[async_trait]
pub trait Budget: Send + Sync {
    /// Spends one request of `app`'s budget: `Ok(None)` to send it now, `Ok(Some(wait))`
    /// when the budget is spent or paused (nothing was counted: ask again after `wait`),
    /// or why the budget could not be consulted.
    async fn spend(&self, app: &str) -> Result<Option<Duration>, String>;

    /// Pauses `app` for every client for `wait` from now: the platform said its limit is
    /// reached. Failing to record it is logged, not an error: the platform enforces it.
    async fn pause(&self, app: &str, wait: Duration);
}

/// A [`Budget`] and the app whose budget a client spends (e.g. `x`, `tiktok-research`).
#[derive(Clone)]
pub struct SharedBudget {
    /// The app's name in the budget.
    pub app: String,
    /// The budget.
    pub budget: Arc<dyn Budget>,
}

impl fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedBudget")
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SharedBudget {
    fn eq(&self, other: &Self) -> bool {
        self.app == other.app && Arc::ptr_eq(&self.budget, &other.budget)
    }
}
