//! `runner bench-suite`: the policy against the floor on every fixture, as one table.

use anyhow::{bail, Context, Result};

use crate::admission::AdmissionRequest;
use crate::cli::SuiteArgs;
use crate::fixtures;
use crate::host::{CompilationCache, GuestLogs, Runtime};

use super::measure;
use super::memory::peak_memory;
use super::stats::{Bytes, Human};

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
    let policy_instance = policy.instantiate(GuestLogs::Discard)?;
    let floor_instance = floor.instantiate(GuestLogs::Discard)?;

    println!(
        "{:<32} {:<17} {:>9} {:>7} {:>11} {:>11} {:>11} {:>6}",
        "fixture",
        "settings",
        "request",
        "verdict",
        "policy med",
        "policy p95",
        "floor med",
        "ratio"
    );
    let timed = fixtures::timed();
    for case in fixtures::cases(&timed) {
        let request = AdmissionRequest::from_document(case.fixture.request.clone())?;
        let settings = serde_json::to_vec(&case.settings)?;
        for instance in [&policy_instance, &floor_instance] {
            instance
                .validate_settings(&settings)?
                .into_result()
                .with_context(|| format!("settings {}", case.settings_name))?;
        }
        let payload = request.validate_payload(&case.settings)?;
        let (on_policy, on_floor) = measure(
            &policy_instance,
            Some(&floor_instance),
            &payload,
            args.measurement,
        )?;
        let on_floor = on_floor.context("the floor was not measured")?;
        println!(
            "{:<32} {:<17} {:>9} {:>7} {:>11} {:>11} {:>11} {:>6.2}",
            case.fixture.name,
            case.settings_name,
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
    Ok(())
}
