//! `parse_profile` with the default rules on any JSON: it must never panic.
#![no_main]

use toker_model::{ValidationRules, parse_profile};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_profile(&value, &ValidationRules::default());
    }
});
