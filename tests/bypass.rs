//! The bypass corpus: every request in `test_data/bypass/` tries to get `hostNetwork: true`
//! past the exemptions of the `bypass` settings of `test_data/scenarios.json` (or the set of
//! that table its entry in `reasons.json` names), and every one must be rejected for the
//! reason `reasons.json` gives: a phrase of the rejection message. The same table drives
//! e2e.bats against the compiled policy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use host_network_policy::{check_settings, evaluate};
use rstest::rstest;
use serde::Deserialize;

/// Fewer files than this means the corpus was lost, not that the policy got safer.
const MIN_ATTACKS: usize = 30;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/bypass")
}

fn read(name: &str) -> String {
    let path = corpus_dir().join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Why an attack must be rejected: a phrase of the message, or an object with that phrase
/// (`reason`), the set of settings it runs under when it is not `bypass`, and what a host
/// that reads the request into a JSON value (kwctl, policy-server), and so keeps only the last
/// of repeated keys, makes of it (`through_host`; e2e.bats reads it, not this test).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Reason {
    Phrase(String),
    Detailed {
        reason: String,
        #[serde(default)]
        settings: Option<String>,
    },
}

impl Reason {
    fn phrase(&self) -> &str {
        match self {
            Reason::Phrase(phrase) | Reason::Detailed { reason: phrase, .. } => phrase,
        }
    }

    fn settings(&self) -> &str {
        match self {
            Reason::Detailed {
                settings: Some(settings),
                ..
            } => settings,
            _ => "bypass",
        }
    }
}

/// The named sets of settings of `test_data/scenarios.json`, as JSON text.
fn settings_sets() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/scenarios.json");
    let table: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    table["settings"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, settings)| (name.clone(), settings.to_string()))
        .collect()
}

fn settings(sets: &BTreeMap<String, String>, name: &str) -> String {
    sets.get(name)
        .unwrap_or_else(|| panic!("test_data/scenarios.json has no settings {name:?}"))
        .clone()
}

fn reasons() -> BTreeMap<String, Reason> {
    serde_json::from_str(&read("reasons.json")).unwrap()
}

/// Built as text, not through `serde_json::Value`, so duplicate keys reach the policy.
fn payload(request: &str, settings: &str) -> Vec<u8> {
    format!(r#"{{"request": {request}, "settings": {settings}}}"#).into_bytes()
}

/// The attack files: every JSON file but the table of reasons.
fn attacks() -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .filter(|name| name != "reasons.json")
        .collect();
    files.sort();
    files
}

#[test]
fn every_set_of_settings_the_corpus_names_is_in_the_table_and_valid() {
    let sets = settings_sets();
    let reasons = reasons();
    let mut names: Vec<&str> = vec!["bypass"];
    names.extend(reasons.values().map(Reason::settings));
    for name in names {
        let response = check_settings(settings(&sets, name).as_bytes());
        assert!(response.valid, "{name}: {:?}", response.message);
    }
}

#[test]
fn every_attack_has_a_reason_and_every_reason_an_attack() {
    let files = attacks();
    let reasons = reasons();
    let without: Vec<&String> = files.iter().filter(|f| !reasons.contains_key(*f)).collect();
    let stale: Vec<&String> = reasons.keys().filter(|r| !files.contains(r)).collect();
    assert!(without.is_empty(), "attacks without a reason: {without:?}");
    assert!(stale.is_empty(), "reasons without an attack: {stale:?}");
    assert!(
        reasons.values().all(|r| !r.phrase().trim().is_empty()),
        "an empty reason proves nothing"
    );
}

#[test]
fn every_attack_is_rejected_for_its_reason() {
    let files = attacks();
    assert!(
        files.len() >= MIN_ATTACKS,
        "only {} attacks in the corpus",
        files.len()
    );
    let reasons = reasons();
    let sets = settings_sets();
    let mut wrong = Vec::new();
    for file in &files {
        let Some(reason) = reasons.get(file) else {
            continue;
        };
        let response = evaluate(&payload(&read(file), &settings(&sets, reason.settings())));
        let message = response.message.as_deref().unwrap_or_default();
        if response.accepted || !message.contains(reason.phrase()) {
            wrong.push(format!(
                "{file}: accepted={} message={:?} warnings={:?}, expected {:?}",
                response.accepted,
                response.message,
                response.warnings,
                reason.phrase()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} attacks were not rejected for their reason:\n{}",
        wrong.len(),
        files.len(),
        wrong.join("\n")
    );
}

/// The controls: the genuine images and namespaces the attacks imitate are exempt under
/// the same settings, so each rejection above is the look-alike's, not a broken fixture's.
#[rstest]
#[case::kube_system("daemonset_kube_system_host_network")]
#[case::monitoring_glob("daemonset_monitoring_prod_host_network")]
#[case::kube_proxy("daemonset_kube_proxy")]
#[case::cilium_glob("daemonset_cilium_images")]
#[case::nginx_short_name("daemonset_nginx_short_name")]
#[case::node_exporter_tag_glob("daemonset_node_exporter_tag")]
#[case::busybox_digest("daemonset_busybox_digest")]
#[case::image_volume_under_an_any_depth_entry("pod_image_volume_exempt")]
#[case::ipv6_registry("pod_ipv6_registry")]
#[case::registry_glob_within_one_label("pod_ecr_regional_registry")]
fn the_genuine_article_is_exempt(#[case] fixture: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(format!("{fixture}.json"));
    let request = fs::read_to_string(&path).unwrap();
    let response = evaluate(&payload(&request, &settings(&settings_sets(), "bypass")));
    assert!(response.accepted, "{fixture}: {:?}", response.message);
    assert!(
        response.warnings.is_some(),
        "{fixture}: no exemption warning"
    );
}

/// A payload the policy cannot read as a `validate` call is rejected, never taken for a
/// request about nothing: policy-server always sends `request`.
#[rstest]
#[case::empty_object(b"{}".as_slice())]
#[case::settings_only(br#"{"settings": {}}"#.as_slice())]
#[case::misspelt_request(br#"{"Request": {"kind": {"kind": "Pod"}, "operation": "CREATE", "object": {"spec": {"hostNetwork": true}}}}"#.as_slice())]
fn payloads_without_a_request_are_rejected(#[case] payload: &[u8]) {
    let response = evaluate(payload);
    assert!(!response.accepted, "{:?}", String::from_utf8_lossy(payload));
    assert!(response.message.is_some_and(|m| !m.is_empty()));
}

/// The control for the image-ID attacks: under their settings, a genuine official image is
/// exempt, so those rejections are the ID's, not the entry's.
#[test]
fn the_official_images_entry_exempts_an_official_image() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/daemonset_nginx_short_name.json");
    let request = fs::read_to_string(&path).unwrap();
    let response = evaluate(&payload(
        &request,
        &settings(&settings_sets(), "official_images"),
    ));
    assert!(response.accepted, "{:?}", response.message);
}
