//! The TikTok data-export importer on arbitrary zip bytes or folders (see the crate docs).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    toker_fuzz::import(toker_model::Platform::TikTok, data);
});
