//! The Kubewarden protocol at the host's edge: what goes into the guest and how its answer is
//! printed.
//!
//! Mirrors kwctl 1.x and policy-evaluator (checked against their sources:
//! `kwctl/src/run/evaluator.rs` `build_validate_request`, `kwctl/src/command/run.rs`, and
//! `policy-evaluator/src/admission_response.rs`):
//! - a request file that is an AdmissionReview is unwrapped to its `request`;
//! - `validate` receives `{"request": <AdmissionRequest>, "settings": <settings>}`;
//! - the printed AdmissionResponse is policy-evaluator's `AdmissionResponse` serialised with
//!   serde: `uid`, `allowed`, `patchType`/`patch` (omitted when absent), `status` (omitted when
//!   absent), `auditAnnotations` and `warnings` (printed as `null` when absent);
//! - `status` is present whenever the policy set a `message` **or** a `code`, on acceptance as
//!   well as on rejection (`from_policy_validation_response`), and inside it `message` and
//!   `code` are each omitted when the policy did not set them.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The AdmissionRequest to evaluate, taken from a bare request or from an AdmissionReview.
#[derive(Debug, Clone)]
pub struct AdmissionRequest {
    uid: String,
    document: Value,
}

impl AdmissionRequest {
    /// Reads an AdmissionRequest, or the `request` of an AdmissionReview.
    ///
    /// kwctl recognises a review by `kind: AdmissionReview`; a top-level `request` object is
    /// taken as a review too, since a bare AdmissionRequest has no such field.
    pub fn from_document(document: Value) -> Result<Self> {
        let Value::Object(mut top) = document else {
            bail!("Invalid request object: expected a JSON object");
        };
        let is_review = top.get("kind").and_then(Value::as_str) == Some("AdmissionReview")
            || top.get("request").is_some_and(Value::is_object);
        let request = if is_review {
            top.remove("request")
                .filter(Value::is_object)
                .ok_or_else(|| anyhow!("invalid AdmissionReview object: no `request` object"))?
        } else {
            Value::Object(top)
        };
        let uid = request
            .get("uid")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                anyhow!("cannot build AdmissionRequest object from given input: missing string field `uid`")
            })?
            .to_owned();
        Ok(Self {
            uid,
            document: request,
        })
    }

    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// The bytes policy-server hands to the guest's `validate`.
    pub fn validate_payload(&self, settings: &Value) -> Result<Vec<u8>> {
        #[derive(Serialize)]
        struct ValidatePayload<'a> {
            request: &'a Value,
            settings: &'a Value,
        }
        serde_json::to_vec(&ValidatePayload {
            request: &self.document,
            settings,
        })
        .context("cannot serialise the validate payload")
    }
}

/// The guest's answer to `validate_settings`.
#[derive(Debug, Deserialize)]
pub struct SettingsValidationResponse {
    pub valid: bool,
    #[serde(default)]
    pub message: Option<String>,
}

impl SettingsValidationResponse {
    pub fn from_guest(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).with_context(|| {
            format!(
                "the policy's `validate_settings` answered something that is not a SettingsValidationResponse: {}",
                preview(bytes)
            )
        })
    }

    /// kwctl's error, the message as the policy wrote it (kwctl 1.35's `run.rs` formats it
    /// with `{}`).
    pub fn into_result(self) -> Result<()> {
        if self.valid {
            return Ok(());
        }
        Err(anyhow!(
            "Provided settings are not valid: {}",
            self.message.unwrap_or_default()
        ))
    }
}

/// The guest's answer to `validate` (kubewarden-policy-sdk's `ValidationResponse`).
#[derive(Debug, Deserialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

impl ValidationResponse {
    pub fn from_guest(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).with_context(|| {
            format!(
                "the policy's `validate` answered something that is not a ValidationResponse: {}",
                preview(bytes)
            )
        })
    }
}

/// The Kubernetes AdmissionResponse as kwctl prints it.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    // `patchType` and `patch` come here for mutations; this host refuses mutations, so they are
    // never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<AdmissionResponseStatus>,
    // A BTreeMap where policy-evaluator has a HashMap: same JSON, stable key order.
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, PartialEq, Serialize)]
pub struct AdmissionResponseStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

impl AdmissionResponse {
    /// policy-evaluator's `from_policy_validation_response`, less the JSON patch.
    pub fn from_validation(uid: &str, response: ValidationResponse) -> Result<Self> {
        if response
            .mutated_object
            .as_ref()
            .is_some_and(|o| !o.is_null())
        {
            bail!(
                "the policy returned a mutated object; this runner does not compute JSON patches"
            );
        }
        let status = (response.message.is_some() || response.code.is_some()).then_some(
            AdmissionResponseStatus {
                message: response.message,
                code: response.code,
            },
        );
        Ok(Self {
            uid: uid.to_owned(),
            allowed: response.accepted,
            status,
            audit_annotations: response.audit_annotations,
            warnings: response.warnings,
        })
    }

    /// One line of JSON, as `kwctl run` prints it.
    pub fn to_line(&self) -> Result<String> {
        serde_json::to_string(self).context("cannot serialise the AdmissionResponse")
    }
}

/// The start of a guest answer, for error messages.
fn preview(bytes: &[u8]) -> String {
    const LIMIT: usize = 200;
    let text = String::from_utf8_lossy(bytes.get(..LIMIT).unwrap_or(bytes));
    if bytes.len() > LIMIT {
        format!("{text:?}…")
    } else {
        format!("{text:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn printed(guest_answer: &str) -> String {
        let response = ValidationResponse::from_guest(guest_answer.as_bytes()).unwrap();
        AdmissionResponse::from_validation("abc-123", response)
            .unwrap()
            .to_line()
            .unwrap()
    }

    #[test]
    fn rejection_prints_status_message_and_null_extras() {
        assert_eq!(
            printed(r#"{"accepted":false,"message":"hostNetwork is not allowed"}"#),
            r#"{"uid":"abc-123","allowed":false,"status":{"message":"hostNetwork is not allowed"},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn rejection_with_code_prints_code_after_message() {
        assert_eq!(
            printed(
                r#"{"accepted":false,"message":"no","code":403,"mutated_object":null,"audit_annotations":null,"warnings":null}"#
            ),
            r#"{"uid":"abc-123","allowed":false,"status":{"message":"no","code":403},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn plain_acceptance_has_no_status() {
        assert_eq!(
            printed(r#"{"accepted":true}"#),
            r#"{"uid":"abc-123","allowed":true,"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn acceptance_with_message_keeps_status_as_policy_evaluator_does() {
        assert_eq!(
            printed(r#"{"accepted":true,"message":"exempt"}"#),
            r#"{"uid":"abc-123","allowed":true,"status":{"message":"exempt"},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn warnings_and_audit_annotations_are_copied() {
        assert_eq!(
            printed(
                r#"{"accepted":true,"warnings":["w1","w2"],"audit_annotations":{"b":"2","a":"1"}}"#
            ),
            r#"{"uid":"abc-123","allowed":true,"auditAnnotations":{"a":"1","b":"2"},"warnings":["w1","w2"]}"#
        );
    }

    #[test]
    fn mutation_is_refused() {
        let response =
            ValidationResponse::from_guest(br#"{"accepted":true,"mutated_object":{"a":1}}"#)
                .unwrap();
        assert!(AdmissionResponse::from_validation("u", response).is_err());
    }

    #[test]
    fn answer_without_accepted_is_malformed() {
        assert!(ValidationResponse::from_guest(br#"{"message":"x"}"#).is_err());
        assert!(ValidationResponse::from_guest(b"not json").is_err());
    }

    fn request() -> Value {
        json!({"uid": "abc-123", "operation": "CREATE", "object": {"kind": "Pod"}})
    }

    #[test]
    fn bare_admission_request_is_used_as_is() {
        let parsed = AdmissionRequest::from_document(request()).unwrap();
        assert_eq!(parsed.uid(), "abc-123");
        assert_eq!(parsed.document, request());
    }

    #[test]
    fn admission_review_is_unwrapped_to_its_request() {
        let review = json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": request(),
        });
        let parsed = AdmissionRequest::from_document(review).unwrap();
        assert_eq!(parsed.document, request());
    }

    #[test]
    fn top_level_request_object_is_unwrapped_without_kind() {
        let parsed = AdmissionRequest::from_document(json!({"request": request()})).unwrap();
        assert_eq!(parsed.uid(), "abc-123");
    }

    #[test]
    fn review_without_request_is_an_error() {
        let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"});
        assert!(AdmissionRequest::from_document(review).is_err());
    }

    #[test]
    fn request_without_uid_is_an_error() {
        assert!(AdmissionRequest::from_document(json!({"object": {}})).is_err());
        assert!(AdmissionRequest::from_document(json!([1, 2])).is_err());
    }

    #[test]
    fn validate_payload_wraps_request_and_settings() {
        let parsed = AdmissionRequest::from_document(request()).unwrap();
        let payload = parsed
            .validate_payload(&json!({"exempt_namespaces": []}))
            .unwrap();
        let payload: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(
            payload,
            json!({"request": request(), "settings": {"exempt_namespaces": []}})
        );
    }

    #[test]
    fn invalid_settings_message_is_printed_as_written_like_kwctl() {
        let response =
            SettingsValidationResponse::from_guest(br#"{"valid":false,"message":"bad \"x\""}"#)
                .unwrap();
        let error = response.into_result().unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"Provided settings are not valid: bad "x""#
        );
    }
}
