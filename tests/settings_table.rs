//! Every settings rule of `validate_settings`, exercised natively over the table
//! `test_data/settings.json`, which e2e.bats runs through the compiled policy too; and the
//! README's Validation paragraph states each rule the table checks.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use host_network_policy::check_settings;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    #[allow(dead_code)]
    about: Vec<String>,
    cases: Vec<Case>,
}

/// One row of `test_data/settings.json`; its `about` says what each field checks.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    settings: Value,
    valid: bool,
    #[serde(default)]
    contains: Vec<String>,
    #[serde(default)]
    lacks: Vec<String>,
    #[serde(default)]
    readme: Option<String>,
}

fn table() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/settings.json");
    let table: Table = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    table.cases
}

/// What is wrong with the policy's answer to the case's settings; empty when it answers as
/// the table says.
fn problems(case: &Case, response: &SettingsValidationResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let message = response.message.as_deref().unwrap_or_default();
    if response.valid != case.valid {
        problems.push(format!(
            "expected {}, got {} ({message})",
            if case.valid { "valid" } else { "refused" },
            if response.valid { "valid" } else { "refused" },
        ));
    }
    if response.valid && response.message.is_some() {
        problems.push(format!("valid, yet with a message: {message}"));
    }
    for phrase in &case.contains {
        if !message.contains(phrase.as_str()) {
            problems.push(format!("lacks {phrase:?}: {message}"));
        }
    }
    for phrase in &case.lacks {
        if message.contains(phrase.as_str()) {
            problems.push(format!("names {phrase:?}: {message}"));
        }
    }
    problems
}

fn answer(case: &Case) -> SettingsValidationResponse {
    check_settings(&serde_json::to_vec(&case.settings).unwrap())
}

#[test]
fn every_case_of_the_settings_table_is_answered_as_it_says() {
    let cases = table();
    assert!(cases.len() >= 20, "{} cases", cases.len());
    let failed: Vec<String> = cases
        .iter()
        .flat_map(|case| {
            problems(case, &answer(case))
                .into_iter()
                .map(move |problem| format!("{}: {problem}", case.name))
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// The checks are not vacuous: every case, with its verdict turned around or with a phrase
/// its answer lacks, is caught.
#[test]
fn the_table_checks_can_fail() {
    for case in table() {
        let response = answer(&case);
        let flipped = Case {
            valid: !case.valid,
            ..case.clone()
        };
        assert!(!problems(&flipped, &response).is_empty(), "{}", case.name);
        let demanding = Case {
            contains: vec!["a phrase no answer has".to_owned()],
            ..case.clone()
        };
        assert!(!problems(&demanding, &response).is_empty(), "{}", case.name);
        if let Some(named) = case.contains.first() {
            let forbidding = Case {
                lacks: vec![named.clone()],
                ..case.clone()
            };
            assert!(
                !problems(&forbidding, &response).is_empty(),
                "{}",
                case.name
            );
        }
    }
}

#[test]
fn every_refusal_names_what_it_refuses_and_the_readme_states_each_rule() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let validation = readme
        .split("**Validation.**")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a Validation paragraph");
    for case in table() {
        if !case.valid {
            assert!(!case.contains.is_empty(), "{}: names nothing", case.name);
            let readme = case
                .readme
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no README phrase", case.name));
            assert!(
                validation.contains(readme),
                "{}: the Validation paragraph does not say {readme:?}",
                case.name
            );
        }
    }
}
