//! The x API client.
