//! Fuzz target `note`: the body is `tongxin_tlog::fuzzing::note`, which
//! `cargo test` also runs over a seed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tongxin_tlog::fuzzing::note(data));
