#![no_main]
//! cargo-fuzz target: see `doorstep_fuzz::bodies::apply_changes`.
//!
//! The core deliberately catches Automerge's panics on malformed data (`doc::guard`), but libFuzzer's panic hook
//! aborts on any panic, caught or not. The init replaces that hook with a silent one; a panic that escapes the
//! body still reaches libfuzzer-sys's own `catch_unwind`, which aborts and reports the crash.

libfuzzer_sys::fuzz_target!(
    init: std::panic::set_hook(Box::new(|_| {})),
    |data: &[u8]| doorstep_fuzz::bodies::apply_changes(data)
);
