//! The `validate_settings` fuzz target. Its oracle is `oracles::validate_settings`
//! (tools/oracles), which `make test` also runs over the seed corpus and every saved input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::validate_settings(data));
