//! `runner bench-suite`: the policy against the floor on every fixture, as one table, in
//! policy-server's regime (a fresh instance per request) and, as a second ratio, kwctl bench's
//! (one instance reused).

use anyhow::{bail, Context, Result};

use crate::admission::AdmissionRequest;
use crate::cli::MeasurementArgs;
use crate::cli::SuiteArgs;
use crate::fixtures;
use crate::host::{CompilationCache, Evaluator, GuestLogs, Regime, Runtime};

use super::memory::peak_memory;
use super::stats::{Bytes, Human};
use super::{measure, Measured};

pub fn bench_suite(args: &SuiteArgs, cache: &CompilationCache) -> Result<()> {
    if let Some(directory) = &args.write_fixtures {
        for path in fixtures::write_all(directory)? {
            println!("wrote {path}");
        }
    }
    let (policy_path, floor_path) = match (&args.policy, &args.baseline) {
        (Some(policy), Some(floor)) => (policy, floor),
        (None, None) if args.write_fixtures.is_some() => return Ok(()),
        _ => bail!("bench-suite needs both POLICY.wasm and --baseline FLOOR.wasm"),
    };

    let runtime = Runtime::new(cache)?;
    let policy = runtime.load(policy_path)?;
    let floor = runtime.load(floor_path)?;
    // Every row is timed in both regimes: a fresh instance per request, as policy-server
    // serves them (the figures that count), and one instance reused, as kwctl bench runs
    // (the "warm" ratio).
    let fresh = [
        policy.evaluator(Regime::FreshInstance, GuestLogs::Discard)?,
        floor.evaluator(Regime::FreshInstance, GuestLogs::Discard)?,
    ];
    let warm = [
        policy.evaluator(Regime::ReusedInstance, GuestLogs::Discard)?,
        floor.evaluator(Regime::ReusedInstance, GuestLogs::Discard)?,
    ];

    println!(
        "{:<32} {:<5} {:<16} {:>9} {:>7} {:>11} {:>11} {:>11} {:>11} {:>6} {:>6}",
        "fixture",
        "host",
        "settings",
        "request",
        "verdict",
        "policy med",
        "policy p95",
        "floor med",
        "floor p95",
        "ratio",
        "warm"
    );
    let timed = fixtures::timed();
    for case in fixtures::cases(&timed) {
        let request = AdmissionRequest::from_document(case.request())?;
        let settings = serde_json::to_vec(&case.settings)?;
        accept_settings(fresh.iter().chain(&warm), &settings, case.settings_name)?;
        let payload = request.validate_payload(&case.settings)?;
        let (on_policy, on_floor) = against_floor(&fresh, &payload, args.measurement)?;
        let (warm_policy, warm_floor) = against_floor(&warm, &payload, args.measurement)?;
        println!(
            "{:<32} {:<5} {:<16} {:>9} {:>7} {:>11} {:>11} {:>11} {:>11} {:>6.2} {:>6.2}",
            case.fixture.name,
            if case.host_network { "yes" } else { "no" },
            case.settings_name,
            Bytes(payload.len() as u64),
            on_policy.verdict.label(),
            Human(on_policy.summary.median),
            Human(on_policy.summary.p95),
            Human(on_floor.summary.median),
            Human(on_floor.summary.p95),
            on_policy.summary.ratio_to(&on_floor.summary),
            warm_policy.summary.ratio_to(&warm_floor.summary),
        );
    }

    // The bound on a request's work: 2 MiB requests built to make matching expensive,
    // against 128 image entries, the most the settings accept.
    println!();
    println!(
        "{:<38} {:>9} {:>7} {:>11} {:>11} {:>11} {:>6}",
        "adversarial (128 entries)",
        "request",
        "verdict",
        "policy med",
        "policy p95",
        "floor med",
        "ratio"
    );
    for row in fixtures::adversarial::all() {
        let request = AdmissionRequest::from_document(row.fixture.request.clone())?;
        let settings = serde_json::to_vec(&row.settings)?;
        accept_settings(&fresh, &settings, row.fixture.name)?;
        let payload = request.validate_payload(&row.settings)?;
        let (on_policy, on_floor) = against_floor(&fresh, &payload, args.measurement)?;
        println!(
            "{:<38} {:>9} {:>7} {:>11} {:>11} {:>11} {:>6.2}",
            row.fixture.name,
            Bytes(payload.len() as u64),
            on_policy.verdict.label(),
            Human(on_policy.summary.median),
            Human(on_policy.summary.p95),
            Human(on_floor.summary.median),
            on_policy.summary.ratio_to(&on_floor.summary),
        );
    }

    let big = fixtures::pod_3mib();
    let request = AdmissionRequest::from_document(big.request)?;
    let settings = serde_json::json!({});
    let settings_bytes = serde_json::to_vec(&settings)?;
    let payload = request.validate_payload(&settings)?;
    println!();
    println!(
        "peak linear memory on {} ({}, empty settings):",
        big.name,
        Bytes(payload.len() as u64)
    );
    for module in [&policy, &floor] {
        let peak = peak_memory(module, &settings_bytes, &payload, cache)?;
        println!(
            "  {:<32} {:>10} (initial {})",
            module.name(),
            Bytes(peak.peak_bytes),
            Bytes(peak.initial_bytes)
        );
    }
    println!(
        "policy size: {} {} bytes",
        policy.name(),
        policy.size_bytes()
    );
    if let Some(metadata) = &args.audit_metadata {
        super::audit::audit_row(&policy, &floor, metadata, cache)?;
    }
    Ok(())
}

/// Checks the settings on every module, as policy-server checks them when it loads a
/// policy: a row whose settings are refused would time a rejection of the settings.
fn accept_settings<'e, 'p: 'e>(
    evaluators: impl IntoIterator<Item = &'e Evaluator<'p>>,
    settings: &[u8],
    name: &str,
) -> Result<()> {
    for evaluator in evaluators {
        evaluator
            .validate_settings(settings)?
            .into_result()
            .with_context(|| format!("settings {name}"))?;
    }
    Ok(())
}

/// The policy and the floor of `pair`, timed alternately on `payload`.
fn against_floor(
    pair: &[Evaluator<'_>; 2],
    payload: &[u8],
    plan: MeasurementArgs,
) -> Result<(Measured, Measured)> {
    let [policy, floor] = pair;
    let (on_policy, on_floor) = measure(policy, Some(floor), payload, plan)?;
    Ok((on_policy, on_floor.context("the floor was not measured")?))
}
