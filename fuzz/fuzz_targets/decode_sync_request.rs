#![no_main]
//! cargo-fuzz target: see `doorstep_fuzz::bodies::decode_sync_request`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| doorstep_fuzz::bodies::decode_sync_request(data));
