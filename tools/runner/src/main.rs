//! `runner`: a native waPC host for Kubewarden policies.
//!
//! `runner run` evaluates one request the way `kwctl run` does, so the e2e bats file can use
//! either (`KWCTL=target/release/runner`). `runner audit` judges every object of manifests or
//! a cluster dump as Kubewarden's audit scanner would. `runner bench` and `runner bench-suite` time the
//! policy against a floor module in the same process. `runner annotate` and `runner inspect`
//! let the release steps be dry-run without kwctl.

mod admission;
mod annotate;
mod audit;
mod bench;
mod cli;
mod fixtures;
mod host;
mod run;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::host::CompilationCache;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cache = CompilationCache::from_env(cli.no_cache);
    let outcome = match cli.command {
        Command::Run(args) => run::run(&args, &cache, cli.verbose),
        Command::Audit(args) => return audit::audit(&args, &cache),
        Command::Bench(args) => bench::bench(&args, &cache),
        Command::BenchSuite(args) => bench::suite::bench_suite(&args, &cache),
        Command::Annotate(args) => annotate::annotate(&args),
        Command::Inspect(args) => annotate::inspect(&args),
        Command::PeakMemory(args) => bench::memory::peak_memory_command(&args, &cache),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{}", error_report(&error));
            ExitCode::FAILURE
        }
    }
}

/// The text kwctl prints for an error (its `main` returns `anyhow::Result`): "Error: ", the
/// error, then its causes. Built by hand to leave out the stack backtrace anyhow appends when
/// `RUST_BACKTRACE` is set: a failing policy is not a bug in the runner.
pub fn error_report(error: &anyhow::Error) -> String {
    let mut report = format!("Error: {error}");
    let mut causes = error.chain().skip(1).peekable();
    if causes.peek().is_some() {
        report.push_str("\n\nCaused by:");
        for cause in causes {
            report.push_str(&format!("\n    {cause}"));
        }
    }
    report
}
