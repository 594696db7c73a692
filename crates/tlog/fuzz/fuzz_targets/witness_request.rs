//! Fuzz target `witness_request`: the body is `tongxin_tlog::fuzzing::witness_request`, which
//! `cargo test` also runs over a seed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tongxin_tlog::fuzzing::witness_request(data));
