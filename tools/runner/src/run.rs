//! `runner run`: one request through the policy, the way `kwctl run` does it.

use std::fs;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::admission::{AdmissionRequest, AdmissionResponse};
use crate::cli::{policy_path, RunArgs};
use crate::host::{CompilationCache, GuestLogs, Regime, Runtime};

pub fn run(args: &RunArgs, cache: &CompilationCache, verbose: bool) -> Result<()> {
    let request = read_request(&args.request_path)?;
    let settings = args.settings.load()?;

    let runtime = Runtime::new(cache)?;
    let policy = runtime.load(policy_path(&args.policy))?;
    // As policy-server: the settings are checked on an instance of their own, and the
    // request is judged on a fresh one (or, with --reuse-instance, both on one instance).
    let regime = if args.reuse_instance {
        Regime::ReusedInstance
    } else {
        Regime::FreshInstance
    };
    let evaluator = policy.evaluator(
        regime,
        GuestLogs::Stderr {
            include_debug: verbose,
        },
    )?;

    evaluator
        .validate_settings(&serde_json::to_vec(&settings)?)?
        .into_result()?;

    let verdict = evaluator.validate(&request.validate_payload(&settings)?)?;
    let response = AdmissionResponse::from_validation(request.uid(), verdict)?;
    println!("{}", response.to_line()?);
    Ok(())
}

/// Reads a request file (AdmissionRequest or AdmissionReview).
pub fn read_request(path: &std::path::Path) -> Result<AdmissionRequest> {
    let text =
        fs::read(path).with_context(|| format!("cannot read request file {}", path.display()))?;
    let document: Value = serde_json::from_slice(&text)
        .with_context(|| format!("request file {} is not JSON", path.display()))?;
    AdmissionRequest::from_document(document)
        .with_context(|| format!("request file {}", path.display()))
}
