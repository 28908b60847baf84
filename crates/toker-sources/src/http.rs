//! The shared HTTP layer of the API clients: timeouts, retries with backoff, rate limits.
