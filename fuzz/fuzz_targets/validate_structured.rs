//! The `validate_structured` fuzz target: structured admission requests against the model
//! in `oracles::structured` (tools/oracles), which `make test` also runs over a fixed
//! stream of generated inputs and every saved one.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: oracles::structured::Input| {
    oracles::structured::check(&input)
});
