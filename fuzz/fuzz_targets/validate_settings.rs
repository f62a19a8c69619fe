//! Raw bytes as settings: `validate_settings` answers, and settings it refuses never let a
//! request through `validate`, while settings it accepts can be used.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// A pod on the host network that only a namespace or image exemption could admit.
const REQUEST: &str = r#"{"kind": {"group": "", "version": "v1", "kind": "Pod"}, "name": "p",
    "namespace": "kube-system", "operation": "CREATE",
    "object": {"metadata": {"name": "p"}, "spec": {"hostNetwork": true,
    "containers": [{"name": "a", "image": "quay.io/cilium/cilium:v1.15"}]}}}"#;

fuzz_target!(|settings: &[u8]| {
    let validation = host_network_policy::check_settings(settings);
    assert!(
        validation.valid || validation.message.as_deref().is_some_and(|m| !m.is_empty()),
        "refused without a message"
    );
    // `validate` only ever receives settings inside a JSON payload.
    let Ok(text) = std::str::from_utf8(settings) else {
        return;
    };
    let payload = format!(r#"{{"request": {REQUEST}, "settings": {text}}}"#);
    let response = host_network_policy::evaluate(payload.as_bytes());
    if !validation.valid {
        // The settings may also have broken the payload's JSON; either way, no admission.
        assert!(!response.accepted, "invalid settings admitted a request");
    }
});
