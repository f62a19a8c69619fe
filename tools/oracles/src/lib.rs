//! What each fuzz target asserts, stated once.
//!
//! `fuzz/fuzz_targets/*.rs` call these functions on what libFuzzer generates, and
//! `tests/corpus.rs` calls them on stable Rust, in `make test`, over the seed corpus that
//! `fuzz/seed.sh` writes, every input saved in `fuzz/regressions/`, any local
//! `fuzz/artifacts/`, and (for the structured target) a fixed stream of generated inputs.
//! A rule that changes without its oracle then fails `make test`, not only a fuzz run
//! that nobody started.
//!
//! An oracle panics, with the input, when the policy breaks what it states.

pub mod structured;

use host_network_policy::{check_settings, evaluate, ImagePattern, ImageRef};

/// `validate` on raw bytes: whatever arrives, the policy answers, every rejection says
/// why, and the response serialises, as the waPC shell sends it back to the host.
pub fn validate_payload(payload: &[u8]) {
    let response = evaluate(payload);
    if !response.accepted {
        assert!(
            response.message.as_deref().is_some_and(|m| !m.is_empty()),
            "rejected without a message: {:?}",
            String::from_utf8_lossy(payload)
        );
    }
    assert!(serde_json::to_vec(&response).is_ok());
}

/// A pod on the host network in `kube-system` that only a namespace or image exemption
/// could admit.
const SETTINGS_REQUEST: &str = r#"{"kind": {"group": "", "version": "v1", "kind": "Pod"}, "name": "p",
    "namespace": "kube-system", "operation": "CREATE",
    "object": {"metadata": {"name": "p"}, "spec": {"hostNetwork": true,
    "containers": [{"name": "a", "image": "quay.io/cilium/cilium:v1.15"}]}}}"#;

/// Raw bytes as settings: `validate_settings` answers, with a message when it refuses.
/// Settings it refuses (which policy-server never serves) admit no more than the same
/// settings without their refused entries: on the request path an entry is checked only
/// where the decision could rest on it, so a refused entry may go unnoticed, but it never
/// exempts anything. Settings that do not even read admit nothing.
pub fn validate_settings(settings: &[u8]) {
    let validation = check_settings(settings);
    assert!(
        validation.valid || validation.message.as_deref().is_some_and(|m| !m.is_empty()),
        "refused without a message"
    );
    // `validate` only ever receives settings inside a JSON payload.
    if let Ok(text) = std::str::from_utf8(settings) {
        refused_settings_admit_no_more(SETTINGS_REQUEST, text);
    }
}

/// `request` (a request with a pod on the host network) judged under `settings`: if
/// `validate_settings` refuses them, whatever they admit, the same settings without their
/// refused entries admit too, and settings that do not read admit nothing.
pub fn refused_settings_admit_no_more(request: &str, settings: &str) {
    let payload = |settings: &str| format!(r#"{{"request": {request}, "settings": {settings}}}"#);
    let response = evaluate(payload(settings).as_bytes());
    if !response.accepted || check_settings(settings.as_bytes()).valid {
        return;
    }
    let Some(checked) = without_refused_entries(settings) else {
        panic!("settings that do not read admitted a request: {settings}");
    };
    assert!(
        check_settings(checked.as_bytes()).valid,
        "settings refused for more than their entries admitted a request: {settings}"
    );
    assert!(
        evaluate(payload(&checked).as_bytes()).accepted,
        "refused settings admitted what their checked entries alone do not: {settings} (checked: {checked})"
    );
}

/// The settings with every entry that `validate_settings` refuses on its own removed, or
/// `None` when they are not a JSON object.
pub fn without_refused_entries(settings: &str) -> Option<String> {
    let mut value: serde_json::Value = serde_json::from_str(settings).ok()?;
    let object = value.as_object_mut()?;
    for key in ["exempt_namespaces", "exempt_images"] {
        if let Some(serde_json::Value::Array(entries)) = object.get_mut(key) {
            entries.retain(|entry| {
                check_settings(serde_json::json!({ key: [entry] }).to_string().as_bytes()).valid
            });
        }
    }
    Some(value.to_string())
}

/// Bytes as an image and as an `exempt_images` entry: parsing never panics, normalisation
/// is idempotent, the entry answers the printed image as it answers the image written, and
/// an entry without wildcards matches the image spelled the same way.
/// The whole input is tried as both, then split at the first newline: entry, then image.
pub fn image_reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    image_and_entry(text, text);
    if let Some((entry, image)) = text.split_once('\n') {
        image_and_entry(image, entry);
    }
}

fn image_and_entry(image: &str, entry: &str) {
    let parsed_image = ImageRef::parse(image);
    if let Ok(parsed) = &parsed_image {
        let printed = parsed.to_string();
        let again = ImageRef::parse(&printed);
        assert_eq!(
            again.as_ref(),
            Ok(parsed),
            "{image:?} printed as {printed:?}"
        );
        assert_eq!(again.map(|i| i.to_string()).ok(), Some(printed.clone()));
        // The registry host is case-insensitive and printed lowercase, except a host that
        // is Docker Hub's but for case, printed as written so that it never reads as Hub.
        let registry = parsed.registry();
        let hub_in_other_case = registry.eq_ignore_ascii_case("docker.io")
            || registry.eq_ignore_ascii_case("index.docker.io");
        assert!(hub_in_other_case || !registry.bytes().any(|c| c.is_ascii_uppercase()));
    }
    let parsed_entry = entry.parse::<ImagePattern>();
    if let (Ok(pattern), Ok(parsed)) = (&parsed_entry, &parsed_image) {
        let printed = parsed.to_string();
        if let Ok(again) = ImageRef::parse(&printed) {
            assert_eq!(
                pattern.matches(&again),
                pattern.matches(parsed),
                "{entry:?} answers the image {image:?} and its printed form {printed:?} differently"
            );
        }
    }
    // Reflexivity: a wildcard-free entry exempts the image it spells.
    if !image.contains('*') {
        if let (Ok(pattern), Ok(parsed)) = (image.parse::<ImagePattern>(), &parsed_image) {
            assert!(pattern.matches(parsed), "{image:?} does not match itself");
        }
    }
}
