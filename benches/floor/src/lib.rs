//! The benchmark floor: a Kubewarden waPC policy that does the least any policy must do.
//!
//! `validate` reads the whole payload as JSON (into `IgnoredAny`, so nothing is kept) and
//! accepts. Timing it beside the real policy, in the same host and on the same request,
//! separates the policy's own work from the waPC round trip and the JSON read that every
//! policy pays.
//!
//! Built with the `decision-record` feature (`make bench-record`), `validate` is instead
//! [`validate_with_record`]: the floor plus what every decision of ours must also do, the
//! debug record through the SDK's drain and, for the pods of the benchmark, a rejection.

use std::sync::LazyLock;

use kubewarden_policy_sdk::logging::KubewardenDrain;
use kubewarden_policy_sdk::wapc_guest::prelude::{register_function, CallResult};
use kubewarden_policy_sdk::{protocol_version_guest, reject_request};
use serde::de::IgnoredAny;
use slog::{debug, o, Logger};

/// A Kubewarden `ValidationResponse` that accepts; the other fields are optional.
const ACCEPT: &[u8] = br#"{"accepted":true}"#;

/// A Kubewarden `SettingsValidationResponse` that accepts any settings.
const SETTINGS_VALID: &[u8] = br#"{"valid":true}"#;

static LOG: LazyLock<Logger> = LazyLock::new(|| Logger::root(KubewardenDrain::new(), o!()));

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    if cfg!(feature = "decision-record") {
        register_function("validate", validate_with_record);
    } else {
        register_function("validate", validate);
    }
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

/// Parses the whole `{"request": ..., "settings": ...}` payload, keeping nothing, and accepts.
///
/// A payload that is not JSON is an error, so the floor cannot be faster than a policy simply
/// by skipping the read.
pub fn validate(payload: &[u8]) -> CallResult {
    serde_json::from_slice::<IgnoredAny>(payload)?;
    Ok(ACCEPT.to_vec())
}

/// The floor plus the fixed cost of a decision as the policy makes one: the debug record
/// (kind, namespace, name, reason) that the policy logs for every decision, through slog and
/// the SDK's `KubewardenDrain`, and the rejection message and response it returns for a
/// small pod that uses the host network.
///
/// Nothing is read from the request: the subject is given, so that this measures the least
/// such a policy can cost, not a way of reading fields. The message has the policy's text
/// for the benchmark's small pod.
pub fn validate_with_record(payload: &[u8]) -> CallResult {
    serde_json::from_slice::<IgnoredAny>(payload)?;
    let (kind, namespace, name) = ("Pod", "default", "web");
    let reason = "host network rejected";
    debug!(LOG, "decision";
        "kind" => kind, "namespace" => namespace, "name" => name, "reason" => reason);
    let message = format!(
        "{kind} {namespace}/{name} is not allowed to use the host network: spec.hostNetwork \
         is true. Remove spec.hostNetwork, or ask a cluster administrator to exempt the \
         namespace \"{namespace}\" (exempt_namespaces) or every image of the pod \
         (exempt_images) in the host-network policy settings."
    );
    reject_request(Some(message), None, None, None)
}

/// Accepts any settings without reading them.
pub fn validate_settings(_payload: &[u8]) -> CallResult {
    Ok(SETTINGS_VALID.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_any_json_payload() {
        let response = validate(br#"{"request":{"uid":"1"},"settings":{}}"#).unwrap();
        assert_eq!(response, ACCEPT);
    }

    #[test]
    fn rejects_a_payload_that_is_not_json() {
        assert!(validate(b"{not json").is_err());
        assert!(validate_with_record(b"{not json").is_err());
    }

    #[test]
    fn the_record_variant_rejects_like_the_policy() {
        let response = validate_with_record(br#"{"request":{"uid":"1"},"settings":{}}"#).unwrap();
        let response: serde_json::Value = serde_json::from_slice(&response).unwrap();
        assert_eq!(response["accepted"], false);
        let message = response["message"].as_str().unwrap();
        assert!(
            message.starts_with("Pod default/web is not allowed to use the host network"),
            "{message}"
        );
    }

    #[test]
    fn settings_are_always_valid() {
        assert_eq!(validate_settings(b"{}").unwrap(), SETTINGS_VALID);
    }
}
