//! Session files (RON and JSON) from any bytes: see `glimpse::fuzz_checks`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        glimpse::fuzz_checks::check_session_text(text);
    }
});
