//! The bypass corpus: every request in `test_data/bypass/` tries to get `hostNetwork: true`
//! past the exemptions of `test_data/bypass/settings.json`, and every one must be rejected.
//! The same files run against the compiled policy in e2e.bats.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::{Path, PathBuf};

use host_network_policy::{check_settings, evaluate};
use rstest::rstest;

/// Fewer files than this means the corpus was lost, not that the policy got safer.
const MIN_ATTACKS: usize = 30;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/bypass")
}

fn settings() -> String {
    let path = corpus_dir().join("settings.json");
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Built as text, not through `serde_json::Value`, so duplicate keys reach the policy.
fn payload(request: &str, settings: &str) -> Vec<u8> {
    format!(r#"{{"request": {request}, "settings": {settings}}}"#).into_bytes()
}

fn attacks() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .filter(|path| path.file_name().is_some_and(|name| name != "settings.json"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_corpus_settings_are_valid() {
    let response = check_settings(settings().as_bytes());
    assert!(response.valid, "{:?}", response.message);
}

#[test]
fn every_attack_is_rejected() {
    let settings = settings();
    let files = attacks();
    assert!(
        files.len() >= MIN_ATTACKS,
        "only {} attacks in the corpus",
        files.len()
    );
    let mut let_through = Vec::new();
    for file in &files {
        let request = fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
        let response = evaluate(&payload(&request, &settings));
        let message = response.message.as_deref().unwrap_or_default();
        if response.accepted || message.is_empty() {
            let_through.push(format!(
                "{}: accepted={} message={:?} warnings={:?}",
                file.file_name().unwrap().to_string_lossy(),
                response.accepted,
                response.message,
                response.warnings
            ));
        }
    }
    assert!(
        let_through.is_empty(),
        "{} of {} attacks were not rejected with a message:\n{}",
        let_through.len(),
        files.len(),
        let_through.join("\n")
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
fn the_genuine_article_is_exempt(#[case] fixture: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(format!("{fixture}.json"));
    let request = fs::read_to_string(&path).unwrap();
    let response = evaluate(&payload(&request, &settings()));
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
