//! Every behaviour rule of the policy, exercised natively over the admission requests in
//! `test_data/`. The scenarios are the table `test_data/scenarios.json`, which e2e.bats runs
//! through the compiled policy too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use host_network_policy::{check_settings, evaluate};
use kubewarden_policy_sdk::response::ValidationResponse;
use rstest::rstest;
use serde::Deserialize;
use serde_json::Value;

fn test_data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(file)
}

/// The `validate` payload policy-server would send for a fixture, built as text so the
/// fixture's bytes (duplicate keys included) reach the policy untouched.
fn payload(fixture: &str, settings: &str) -> Vec<u8> {
    let path = test_data(&format!("{fixture}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let value: Value = serde_json::from_str(&text).unwrap();
    let request = match value.get("request") {
        Some(request) => request.to_string(),
        None => text,
    };
    format!(r#"{{"request": {request}, "settings": {settings}}}"#).into_bytes()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[allow(dead_code)]
    about: Vec<String>,
    settings: BTreeMap<String, Value>,
    scenarios: Vec<Scenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
enum Expect {
    Allowed,
    Warned,
    Rejected,
}

/// One row of `test_data/scenarios.json`; its `about` says what each field checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    #[allow(dead_code)]
    rule: String,
    name: String,
    request: String,
    settings: String,
    expect: Expect,
    starts_with: Option<String>,
    equals: Option<String>,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    contains_when_read_as_written: Vec<String>,
    #[serde(default)]
    lacks: Vec<String>,
    #[serde(default)]
    once: Vec<String>,
    audit: Option<String>,
}

fn table() -> Table {
    let path = test_data("scenarios.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// What is wrong with the response to a scenario; empty when nothing is.
fn problems(scenario: &Scenario, response: &ValidationResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let warnings = response.warnings.clone().unwrap_or_default();
    let audit = response
        .audit_annotations
        .as_ref()
        .and_then(|annotations| annotations.get("host-network-exemption").cloned());
    let text = match scenario.expect {
        Expect::Allowed => {
            if !response.accepted || response.message.is_some() || !warnings.is_empty() {
                problems.push("expected a silent acceptance".to_owned());
            }
            if audit.is_some() {
                problems.push(format!("unexpected audit annotation {audit:?}"));
            }
            String::new()
        }
        Expect::Warned => {
            if !response.accepted {
                problems.push("expected an acceptance".to_owned());
            }
            if warnings.len() != 1 {
                problems.push(format!("expected one warning, got {}", warnings.len()));
            }
            warnings.first().cloned().unwrap_or_default()
        }
        Expect::Rejected => {
            if response.accepted {
                problems.push("expected a rejection".to_owned());
            }
            response.message.clone().unwrap_or_default()
        }
    };
    if let Some(prefix) = &scenario.starts_with {
        if !text.starts_with(prefix.as_str()) {
            problems.push(format!("does not start with {prefix:?}"));
        }
    }
    if let Some(whole) = &scenario.equals {
        if &text != whole {
            problems.push(format!("is not {whole:?}"));
        }
    }
    for phrase in scenario
        .contains
        .iter()
        .chain(&scenario.contains_when_read_as_written)
    {
        if !text.contains(phrase.as_str()) {
            problems.push(format!("lacks {phrase:?}"));
        }
    }
    for phrase in &scenario.lacks {
        if text.contains(phrase.as_str()) {
            problems.push(format!("contains {phrase:?}"));
        }
    }
    for phrase in &scenario.once {
        let count = text.matches(phrase.as_str()).count();
        if count != 1 {
            problems.push(format!("names {phrase:?} {count} times"));
        }
    }
    if let Some(expected) = &scenario.audit {
        let expected = (!expected.is_empty()).then_some(expected);
        if audit.as_ref() != expected {
            problems.push(format!("audit annotation {audit:?}, expected {expected:?}"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!("text: {text:?}"));
    }
    problems
}

/// Every scenario is run, and every failing one reported, before the test fails.
#[test]
fn every_scenario_behaves_as_the_table_says() {
    let table = table();
    let mut failures = Vec::new();
    for scenario in &table.scenarios {
        let settings = table
            .settings
            .get(&scenario.settings)
            .unwrap_or_else(|| panic!("{}: no settings {:?}", scenario.name, scenario.settings))
            .to_string();
        assert!(
            check_settings(settings.as_bytes()).valid,
            "{}: the table's settings must be valid",
            scenario.name
        );
        let response = evaluate(&payload(&scenario.request, &settings));
        let problems = problems(scenario, &response);
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} ({}):\n  {}",
                scenario.rule,
                scenario.name,
                scenario.request,
                problems.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A scenario names a request that exists, once per name, and every request in `test_data/`
/// is some scenario's: a fixture added without one would test nothing.
#[test]
fn the_table_and_test_data_name_the_same_requests() {
    let table = table();
    let mut names = std::collections::BTreeSet::new();
    for scenario in &table.scenarios {
        assert!(
            names.insert(&scenario.name),
            "two scenarios named {:?}",
            scenario.name
        );
        assert!(
            test_data(&format!("{}.json", scenario.request)).is_file(),
            "{}: no test_data/{}.json",
            scenario.name,
            scenario.request
        );
    }
    let requested: std::collections::BTreeSet<&str> =
        table.scenarios.iter().map(|s| s.request.as_str()).collect();
    for entry in std::fs::read_dir(test_data("")).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        if let Some(request) = file.strip_suffix(".json") {
            // The two tables themselves.
            if request != "scenarios" && request != "settings" {
                assert!(
                    requested.contains(request),
                    "test_data/{file} is in no scenario"
                );
            }
        }
    }
}

/// The table cannot pass by checking nothing: a scenario run against the other verdict, or
/// against a phrase the response lacks, is reported.
#[test]
fn the_table_checks_can_fail() {
    let table = table();
    let response = evaluate(&payload("pod_host_network", "{}"));
    let mut scenario = table
        .scenarios
        .into_iter()
        .find(|s| s.request == "pod_host_network")
        .unwrap();
    assert!(problems(&scenario, &response).is_empty());
    scenario.contains.push("no such phrase".to_owned());
    assert!(!problems(&scenario, &response).is_empty());
    scenario.contains.pop();
    scenario.expect = Expect::Allowed;
    assert!(!problems(&scenario, &response).is_empty());
    scenario.expect = Expect::Warned;
    assert!(!problems(&scenario, &response).is_empty());
}

#[rstest]
#[case::not_json(b"not json".as_slice())]
#[case::empty(b"".as_slice())]
#[case::request_not_an_object(br#"{"request": 5, "settings": {}}"#.as_slice())]
#[case::object_not_an_object(br#"{"request": {"kind": {"kind": "Pod"}, "operation": "CREATE", "object": []}, "settings": {}}"#.as_slice())]
fn unreadable_payloads_are_rejected(#[case] payload: &[u8]) {
    let response = evaluate(payload);
    assert!(!response.accepted);
    assert!(response.message.unwrap().contains("cannot be checked"));
}

/// Settings that do not compile reject a pod on the host network; a request without one
/// never needs the settings, which policy-server has refused to load anyway.
#[test]
fn invalid_settings_reaching_validate_reject_a_pod_on_the_host_network() {
    let settings = r#"{"exempt_images": ["*"]}"#;
    let response = evaluate(&payload("pod_host_network", settings));
    assert!(!response.accepted);
    assert!(response.message.unwrap().contains("settings are not valid"));
    assert!(evaluate(&payload("pod_host_network_absent", settings)).accepted);
}
