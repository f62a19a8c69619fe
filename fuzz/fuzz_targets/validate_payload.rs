//! Raw bytes as the `validate` payload: whatever arrives, the policy answers, and every
//! rejection says why.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let response = host_network_policy::evaluate(payload);
    if !response.accepted {
        assert!(
            response.message.as_deref().is_some_and(|m| !m.is_empty()),
            "rejected without a message"
        );
    }
    // The response must serialise, as the waPC shell sends it back to the host.
    assert!(serde_json::to_vec(&response).is_ok());
});
