//! Fuzz target `tile_path`: the body is `tongxin_tlog::fuzzing::tile_path`, which
//! `cargo test` also runs over a seed corpus.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tongxin_tlog::fuzzing::tile_path(data));
