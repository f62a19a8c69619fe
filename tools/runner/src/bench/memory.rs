//! Peak wasm linear memory of a policy on one request.
//!
//! wasmtime-provider keeps its `Store` private and installs its own `ResourceLimiter`, so the
//! host cannot read the memory size or watch `memory.grow`. What it does let us set is
//! `ResourceLimits::max_memory_size`. Linear memory never shrinks, so the peak is the smallest
//! limit under which the whole sequence still succeeds; a refused `memory.grow` makes a Rust
//! guest's allocator abort, i.e. trap. We binary-search that limit in 64 KiB pages, each probe
//! on a fresh instance.
//!
//! The search runs in a child process (`runner peak-memory`, payload on stdin): every probe
//! that runs out of memory makes the guest print "memory allocation of N bytes failed" on the
//! stderr it inherits through WASI, and wasmtime-provider gives no way to redirect it.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::cli::PeakMemoryArgs;
use crate::host::{CompilationCache, GuestLogs, Instance, Policy, Runtime, WASM_PAGE_BYTES};

/// The largest memory a wasm32 module can have: 65536 pages, 4 GiB.
const MAX_PAGES: u64 = 65_536;

/// The memory figures of one policy on one request.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct MemoryPeak {
    /// The exported memory's declared minimum (data, stack and heap start).
    pub initial_bytes: u64,
    /// The most the memory reached over `wapc_init` and one `validate`: what one request's
    /// fresh instance uses in policy-server.
    pub peak_bytes: u64,
}

/// Measures the peak in a child process; `settings` and `payload` are the bytes given to
/// `validate_settings` and `validate`.
pub fn peak_memory(
    policy: &Policy,
    settings: &[u8],
    payload: &[u8],
    cache: &CompilationCache,
) -> Result<MemoryPeak> {
    let executable = std::env::current_exe().context("cannot find the runner executable")?;
    let mut command = Command::new(executable);
    if matches!(cache, CompilationCache::Disabled) {
        command.arg("--no-cache");
    }
    let mut child = command
        .arg("peak-memory")
        .arg("--settings-json")
        .arg(std::str::from_utf8(settings).context("settings are not UTF-8")?)
        .arg(policy.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start the peak-memory search")?;
    // The child reads all of stdin before it writes anything, so this cannot deadlock.
    child
        .stdin
        .take()
        .context("no stdin for the peak-memory search")?
        .write_all(payload)
        .context("cannot send the payload to the peak-memory search")?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        // The last line is the child's own error; the lines before are the guest's
        // allocation failures, expected here.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        bail!("peak-memory search for {} failed: {last}", policy.name());
    }
    serde_json::from_slice(&output.stdout).context("unreadable peak-memory result")
}

/// `runner peak-memory`: the search itself; prints a `MemoryPeak` as JSON.
pub fn peak_memory_command(args: &PeakMemoryArgs, cache: &CompilationCache) -> Result<()> {
    let mut payload = Vec::new();
    std::io::stdin()
        .read_to_end(&mut payload)
        .context("cannot read the payload from stdin")?;
    let policy = Runtime::new(cache)?.load(&args.policy)?;
    let peak = search(&policy, args.settings_json.as_bytes(), &payload)?;
    println!("{}", serde_json::to_string(&peak)?);
    Ok(())
}

fn search(policy: &Policy, settings: &[u8], payload: &[u8]) -> Result<MemoryPeak> {
    // The settings are checked on an instance of their own, as policy-server checks them when
    // it loads the policy. Then unlimited first: a request that fails without limits is an
    // error, not a memory figure.
    policy
        .instantiate(GuestLogs::Discard)?
        .validate_settings(settings)?
        .into_result()?;
    let unlimited = policy.instantiate(GuestLogs::Discard)?;
    exercise(&unlimited, payload).map_err(|e| {
        anyhow!(
            "{} fails on this request without memory limits: {e}",
            policy.name()
        )
    })?;

    let initial_pages = policy.initial_memory_bytes().unwrap_or(0) / WASM_PAGE_BYTES;
    let fits = |pages: u64| match policy.instantiate_limited(pages * WASM_PAGE_BYTES) {
        Ok(instance) => exercise(&instance, payload).is_ok(),
        // Instantiation fails when the initial memory is above the limit.
        Err(_) => false,
    };

    // Invariant: `low` pages are too few (below the initial size at first), `high` fit.
    let mut low = initial_pages.saturating_sub(1);
    let mut high = MAX_PAGES;
    if !fits(high) {
        bail!("{} does not fit in 4 GiB of linear memory", policy.name());
    }
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if fits(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    Ok(MemoryPeak {
        initial_bytes: initial_pages * WASM_PAGE_BYTES,
        peak_bytes: high * WASM_PAGE_BYTES,
    })
}

fn exercise(instance: &Instance, payload: &[u8]) -> Result<()> {
    instance.validate(payload).map(drop)
}
