#![no_main]
//! cargo-fuzz target: see `doorstep_fuzz::bodies::apply_changes`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_fuzz::bodies::apply_changes(data));
