//! The audit's row of `make bench`: `runner audit` on a generated cluster dump of 10,000
//! objects, once with the policy and once with the floor, alternately, each a whole run in a
//! child process, as a user runs it. It gives objects per second and the peak resident
//! memory of each run, beside the dump's size: the audit reads the dump whole and keeps each
//! object as a slice of it, so its memory is the dump's and a little more.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::fixtures::dump::write_dump;
use crate::host::{CompilationCache, Policy};

use super::stats::{Bytes, Human};

/// The dump's size, in objects: the audit's target is stated for it.
const OBJECTS: usize = 10_000;
/// Whole runs of each module; the median is shown.
const ROUNDS: usize = 3;

/// One whole audit run.
struct Run {
    wall: Duration,
    peak_rss_bytes: u64,
}

pub fn audit_row(
    policy: &Policy,
    floor: &Policy,
    metadata: &Path,
    cache: &CompilationCache,
) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("runner-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dump = dir.join("dump.json");
    let objects = {
        let mut out = std::io::BufWriter::new(File::create(&dump)?);
        let objects = write_dump(OBJECTS, &mut out)?;
        std::io::Write::flush(&mut out)?;
        objects
    };
    let dump_bytes = std::fs::metadata(&dump)?.len();
    let mut runs: [Vec<Run>; 2] = [Vec::new(), Vec::new()];
    let result = (|| -> Result<()> {
        for _ in 0..ROUNDS {
            for (module, runs) in [policy, floor].into_iter().zip(runs.iter_mut()) {
                runs.push(audit_run(module, metadata, &dump, &dir, cache)?);
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result?;

    println!();
    println!(
        "audit of a {objects}-object cluster dump ({}), whole runs, median of {ROUNDS}:",
        Bytes(dump_bytes)
    );
    let mut medians = Vec::new();
    for (module, runs) in [policy, floor].into_iter().zip(runs.iter_mut()) {
        runs.sort_by_key(|run| run.wall);
        let Some(median) = runs.get(runs.len() / 2) else {
            bail!("no audit run of {}", module.name());
        };
        let peak = runs.iter().map(|run| run.peak_rss_bytes).max().unwrap_or(0);
        println!(
            "  {:<32} {:>10} {:>9.0} objects/s   peak RSS {:>10} ({:.1} times the dump)",
            module.name(),
            Human(median.wall),
            objects as f64 / median.wall.as_secs_f64(),
            Bytes(peak),
            peak as f64 / dump_bytes as f64,
        );
        medians.push(median.wall);
    }
    if let [on_policy, on_floor] = medians.as_slice() {
        println!(
            "  ratio {:.2}",
            on_policy.as_secs_f64() / on_floor.as_secs_f64()
        );
    }
    Ok(())
}

/// `runner audit` of `dump` with `module`, timed, and its peak resident memory.
fn audit_run(
    module: &Policy,
    metadata: &Path,
    dump: &Path,
    dir: &Path,
    cache: &CompilationCache,
) -> Result<Run> {
    let executable = std::env::current_exe().context("cannot find the runner executable")?;
    let stderr_path = dir.join("stderr");
    let mut command = Command::new(executable);
    if matches!(cache, CompilationCache::Disabled) {
        command.arg("--no-cache");
    }
    command
        .arg("audit")
        .arg("--metadata-path")
        .arg(metadata)
        .args(["--exit-zero", "-o", "json"])
        .arg(module.path())
        .arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&stderr_path)?);
    let started = Instant::now();
    let child = command.spawn().context("cannot start runner audit")?;
    let (status, peak_rss_bytes) = wait_with_peak_rss(child.id())?;
    let wall = started.elapsed();
    if status != 0 {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        bail!(
            "runner audit with {} exited with {status}: {stderr}",
            module.name()
        );
    }
    Ok(Run {
        wall,
        peak_rss_bytes,
    })
}

/// Waits for the child `pid`, and returns its exit status and the peak resident memory the
/// kernel recorded for it. `std::process::Child::wait` gives no resource usage, and
/// `getrusage(RUSAGE_CHILDREN)` only the largest child so far, so `wait4` is called.
fn wait_with_peak_rss(pid: u32) -> Result<(i32, u64)> {
    let pid = libc::pid_t::try_from(pid).context("the child's pid does not fit a pid_t")?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are valid for writes for the duration of the call, and
    // `pid` is a child of this process that nothing else waits for.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if waited != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // Linux gives `ru_maxrss` in KiB.
    let peak = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    Ok((code, peak))
}
