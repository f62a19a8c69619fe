//! The `image_reference` fuzz target. Its oracle is `oracles::image_reference`
//! (tools/oracles), which `make test` also runs over the seed corpus and every saved input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oracles::image_reference(data));
