//! The `validate_payload` fuzz target. Its oracle is `oracles::validate_payload`
//! (tools/oracles), which `make test` also runs over the seed corpus and every saved input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::validate_payload(data));
