//! The benchmark floor: a Kubewarden waPC policy that does the least any policy must do.
//!
//! `validate` reads the whole payload as JSON (into `IgnoredAny`, so nothing is kept) and
//! accepts. Timing it beside the real policy, in the same host and on the same request,
//! separates the policy's own work from what every policy pays: in policy-server, a fresh
//! instance per request (`wapc_init` included), the waPC round trip and the JSON read.

use kubewarden_policy_sdk::protocol_version_guest;
use kubewarden_policy_sdk::wapc_guest::prelude::{register_function, CallResult};
use serde::de::IgnoredAny;

/// A Kubewarden `ValidationResponse` that accepts; the other fields are optional.
const ACCEPT: &[u8] = br#"{"accepted":true}"#;

/// A Kubewarden `SettingsValidationResponse` that accepts any settings.
const SETTINGS_VALID: &[u8] = br#"{"valid":true}"#;

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
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
    }

    #[test]
    fn settings_are_always_valid() {
        assert_eq!(validate_settings(b"{}").unwrap(), SETTINGS_VALID);
    }
}
