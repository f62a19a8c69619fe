//! Timing `validate` calls: `runner bench` on one request, and the shared measurement loop.
//!
//! A call is timed in the regime given ([`Regime`]): by default a fresh instance per call,
//! its creation and `wapc_init` included, as policy-server serves every request; or one
//! instance reused, as `kwctl bench` runs. The payload bytes are built once. With a baseline
//! the two modules alternate in small blocks within the same run, so frequency scaling and
//! noise from the other core hit both alike and the ratio of medians stays meaningful on a
//! busy machine.

pub mod audit;
pub mod memory;
pub mod stats;
pub mod suite;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::admission::ValidationResponse;
use crate::cli::{BenchArgs, MeasurementArgs};
use crate::host::{CompilationCache, Evaluator, GuestLogs, Regime, Runtime};
use crate::run::read_request;

use self::memory::peak_memory;
use self::stats::{Bytes, Human, Summary};

/// Calls per module before a switch to the other one.
const BLOCK: usize = 4;
/// Untimed calls per module before measuring: first calls fault in pages and fill caches.
const WARM_UP: Duration = Duration::from_millis(200);
const MIN_WARM_UP_CALLS: usize = 5;
/// Fewer samples than this give no stable p95, whatever the time budget.
const MIN_CALLS: usize = 20;
/// Keeps the sample vectors bounded for very fast modules.
const MAX_CALLS: usize = 2_000_000;

/// What a measurement found for one module.
#[derive(Debug)]
pub struct Measured {
    pub summary: Summary,
    /// The module's answer to the request (from the first call).
    pub verdict: Verdict,
}

/// The decision a module took on the benchmark request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Reject,
}

impl Verdict {
    fn of(response: &ValidationResponse) -> Self {
        if response.accepted {
            Self::Accept
        } else {
            Self::Reject
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Reject => "reject",
        }
    }
}

/// Times `validate` on `payload` for `policy` and, if given, `baseline`, alternating them.
pub fn measure(
    policy: &Evaluator<'_>,
    baseline: Option<&Evaluator<'_>>,
    payload: &[u8],
    plan: MeasurementArgs,
) -> Result<(Measured, Option<Measured>)> {
    let subjects: Vec<&Evaluator<'_>> = std::iter::once(policy).chain(baseline).collect();

    let mut verdicts = Vec::with_capacity(subjects.len());
    for subject in &subjects {
        verdicts.push(Verdict::of(&subject.validate(payload)?));
        let started = Instant::now();
        let mut calls = 0;
        while calls < MIN_WARM_UP_CALLS || started.elapsed() < WARM_UP {
            subject.call("validate", payload)?;
            calls += 1;
        }
    }

    let budget = Duration::from_millis(plan.time_ms) * subjects.len() as u32;
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); subjects.len()];
    let started = Instant::now();
    loop {
        for (subject, samples) in subjects.iter().zip(samples.iter_mut()) {
            for _ in 0..BLOCK {
                let call = Instant::now();
                subject.call("validate", payload)?;
                samples.push(call.elapsed());
            }
        }
        let calls = samples.first().map_or(0, Vec::len);
        let done = match plan.iterations {
            Some(iterations) => calls >= iterations,
            None => (calls >= MIN_CALLS && started.elapsed() >= budget) || calls >= MAX_CALLS,
        };
        if done {
            break;
        }
    }

    let mut results = samples.iter().zip(verdicts).map(|(samples, verdict)| {
        let kept = plan
            .iterations
            .map_or(samples.len(), |n| n.min(samples.len()));
        Summary::of(samples.get(..kept).unwrap_or(samples))
            .map(|summary| Measured { summary, verdict })
    });
    let policy = results.next().flatten().context("no samples")?;
    let baseline = results.next().flatten();
    Ok((policy, baseline))
}

/// `runner bench`.
pub fn bench(args: &BenchArgs, cache: &CompilationCache) -> Result<()> {
    let request = read_request(&args.request_path)?;
    let settings = args.settings.load()?;
    let settings_bytes = serde_json::to_vec(&settings)?;
    let payload = request.validate_payload(&settings)?;

    let runtime = Runtime::new(cache)?;
    let policy = runtime.load(&args.policy)?;
    let baseline = args
        .baseline
        .as_deref()
        .map(|path| runtime.load(path))
        .transpose()?;

    let regime = if args.reuse_instance {
        Regime::ReusedInstance
    } else {
        Regime::FreshInstance
    };
    let policy_evaluator = policy.evaluator(regime, GuestLogs::Discard)?;
    policy_evaluator
        .validate_settings(&settings_bytes)?
        .into_result()?;
    let baseline_evaluator = match &baseline {
        Some(baseline) => {
            let evaluator = baseline.evaluator(regime, GuestLogs::Discard)?;
            evaluator
                .validate_settings(&settings_bytes)?
                .into_result()?;
            Some(evaluator)
        }
        None => None,
    };

    println!(
        "request {} ({}), validate payload {}, {}",
        args.request_path.display(),
        Bytes(std::fs::metadata(&args.request_path)?.len()),
        Bytes(payload.len() as u64),
        regime.label()
    );
    let (measured_policy, measured_baseline) = measure(
        &policy_evaluator,
        baseline_evaluator.as_ref(),
        &payload,
        args.measurement,
    )?;

    let modules = std::iter::once((&policy, &measured_policy))
        .chain(baseline.as_ref().zip(measured_baseline.as_ref()));
    for (module, measured) in modules {
        let peak = peak_memory(module, &settings_bytes, &payload, cache)?;
        println!(
            "{:<32} {}  median {:>10}  p95 {:>10}  calls {:>8}  peak memory {} (initial {})",
            module.name(),
            measured.verdict.label(),
            Human(measured.summary.median),
            Human(measured.summary.p95),
            measured.summary.calls,
            Bytes(peak.peak_bytes),
            Bytes(peak.initial_bytes),
        );
    }
    if let Some(measured_baseline) = &measured_baseline {
        println!(
            "ratio of medians (policy/baseline): {:.2}",
            measured_policy.summary.ratio_to(&measured_baseline.summary)
        );
    }
    Ok(())
}
