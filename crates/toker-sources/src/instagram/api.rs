//! The instagram API client.
