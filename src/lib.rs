//! waPC entry points of the host-network policy: register the functions, call the core,
//! turn its verdict into a Kubewarden response.
//!
//! The policy rejects workloads whose pods would share the node's network namespace
//! (`hostNetwork: true`), unless the namespace or every image of the pod is exempt
//! (CIS Kubernetes benchmark 4.2.4 on AKS, EKS and GKE; 5.2.4/5.2.5 upstream).

mod ascii;
mod decision;
mod entries;
mod glob;
mod image;
// Only native tools read it; the policy module does not carry it.
#[cfg(not(target_family = "wasm"))]
mod inventory;
mod limits;
mod messages;
mod namespace;
mod request;
mod settings;
mod update;
mod view;
mod workload;

// The public surface: the two waPC functions as plain functions, for the native tests and
// the fuzz targets, and the bounds. What tests check the policy against is behind the
// `test-support` feature; everything else is private, so the compiler finds what nothing
// uses.
#[cfg(feature = "test-support")]
pub use image::{ImagePattern, ImageRef};
// What `runner audit` reads of each object, by the decision's own walk and grammar.
#[cfg(not(target_family = "wasm"))]
pub use inventory::{exemption_entry, pod_specs, EntryScope, NamedImage, PodSpecImages};
pub use limits::{
    LISTED_DENIED_IMAGES, LISTED_WARNING_ENTRIES, MAX_DISTINCT_IMAGES, MAX_ENTRIES,
    MAX_REFERENCE_LEN,
};
#[cfg(feature = "test-support")]
pub use workload::ImageField;

use std::collections::HashMap;

use kubewarden_policy_sdk::logging::KubewardenDrain;
use kubewarden_policy_sdk::protocol_version_guest;
use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest::{register_function, CallResult};
use slog::{debug, o, Logger};

use crate::decision::{decide, Decision, Verdict};
use crate::request::{unreadable_but_creates_no_pod, Unreadable, ValidationPayload};
use crate::settings::{Exemptions, LazyExemptions};

#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    let response = evaluate(payload);
    // Room for the texts and their escapes up front: growing the buffer while serialising
    // a rejection copied it several times.
    let texts: usize = response
        .message
        .iter()
        .chain(response.warnings.iter().flatten())
        .map(String::len)
        .sum();
    let mut out = Vec::with_capacity(128 + texts + texts / 8);
    serde_json::to_writer(&mut out, &response)?;
    Ok(out)
}

fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&check_settings(payload))?)
}

/// `validate_settings`: the settings are valid exactly when they read and every entry
/// checks.
pub fn check_settings(settings: &[u8]) -> SettingsValidationResponse {
    match Exemptions::checked(settings) {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(e) => SettingsValidationResponse {
            valid: false,
            message: Some(e.to_string()),
        },
    }
}

/// `validate`: judges one request. Whatever the input, the answer is a verdict, never a
/// trap, and a request the policy cannot read is rejected, never let through.
///
/// policy-server already records every evaluation (kind, namespace, name, operation,
/// verdict, message), so a decision is not logged here: a record costs a host call whose
/// JSON the host parses whatever its level.
pub fn evaluate(payload: &[u8]) -> ValidationResponse {
    let parsed = match ValidationPayload::parse(payload) {
        Ok(parsed) => parsed,
        Err(_) => return unreadable(payload),
    };
    let settings = parsed.settings.map_or("{}", |raw| raw.get());
    let exemptions = LazyExemptions::new(settings.as_bytes());
    respond(&decide(&parsed.request, payload, &exemptions))
}

fn respond(decision: &Decision<'_>) -> ValidationResponse {
    let subject = &decision.subject;
    match &decision.verdict {
        Verdict::Allowed(_) => accept(None, None),
        Verdict::Exempt(exemption) => accept(
            Some(messages::exemption_warning(subject, exemption)),
            Some(messages::exemption_audit(exemption)),
        ),
        Verdict::KeptOnUpdate { location } => {
            accept(Some(messages::kept_warning(subject, *location)), None)
        }
        Verdict::Rejected(rejection) => reject(messages::rejection(subject, rejection)),
        Verdict::Misconfigured(error) => reject(messages::invalid_settings(error)),
    }
}

/// A request the policy cannot read is rejected, unless it is unambiguously one that
/// creates no pod: no second, more lenient reading may reach an accept. The reason is logged,
/// since the host sees only the message.
fn unreadable(payload: &[u8]) -> ValidationResponse {
    if unreadable_but_creates_no_pod(payload) {
        return accept(None, None);
    }
    let unreadable = Unreadable::describe(payload);
    let log = Logger::root(KubewardenDrain::new(), o!());
    debug!(log, "request unreadable";
        "kind" => &unreadable.kind, "namespace" => &unreadable.namespace,
        "name" => &unreadable.name, "reason" => &unreadable.problem);
    reject(messages::unreadable(&unreadable))
}

/// The SDK's `accept_request()` takes no warnings, so the response is built here.
fn accept(warning: Option<String>, audit: Option<String>) -> ValidationResponse {
    ValidationResponse {
        accepted: true,
        message: None,
        code: None,
        mutated_object: None,
        audit_annotations: audit
            .map(|value| HashMap::from([(messages::EXEMPTION_AUDIT_KEY.to_owned(), value)])),
        warnings: warning.map(|w| vec![w]),
    }
}

fn reject(message: String) -> ValidationResponse {
    ValidationResponse {
        accepted: false,
        message: Some(message),
        code: None,
        mutated_object: None,
        audit_annotations: None,
        warnings: None,
    }
}
