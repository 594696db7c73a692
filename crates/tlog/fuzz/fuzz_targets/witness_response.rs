//! Fuzz target `witness_response`: the body is `tongxin_tlog::fuzzing::witness_response`, which
//! `cargo test` also runs over a seed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tongxin_tlog::fuzzing::witness_response(data));
