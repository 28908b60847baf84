//! The tiktok API client.
