//! The command line: `run`, `annotate` and `inspect` (kwctl-compatible), `audit`, `bench`
//! and `bench-suite`.
//!
//! Flag names follow `kwctl run` (`-r/--request-path`, `--settings-json`, `--settings-path`,
//! the policy as the positional argument), so a bats file written for kwctl runs unchanged.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::Value;

#[derive(Debug, Parser)]
#[command(
    name = "runner",
    version,
    about = "Audits manifests and cluster dumps with the host-network Kubewarden policy (.wasm), \
             and runs, annotates, inspects and benchmarks it natively, the way kwctl does",
    after_help = "Compiled modules are cached on disk (wasmtime's cache) in $RUNNER_CACHE_DIR, \
                  else $XDG_CACHE_HOME/host-network-policy-runner, else \
                  $HOME/.cache/host-network-policy-runner. With RUNNER_PERFMAP set, wasmtime \
                  writes /tmp/perf-PID.map, so that `perf record` names the policy's \
                  functions (build the module unstripped to get their names)."
)]
pub struct Cli {
    /// Do not use wasmtime's on-disk compilation cache.
    #[arg(long, global = true)]
    pub no_cache: bool,

    /// Also show the policy's debug log events (as `kwctl -v`); by default, as kwctl, only
    /// info and above.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate one request and print the AdmissionResponse on one line, as `kwctl run` does.
    ///
    /// Exit status 0 whether the request is accepted or rejected; 1 when the settings are not
    /// valid, and on any failure of the host or the guest (trap, missing export, malformed
    /// response).
    Run(RunArgs),
    /// Judge every object of manifests or a cluster dump, as Kubewarden's audit scanner
    /// replays them, and say what enforcing the policy would reject.
    ///
    /// Exit status 0 when nothing would be rejected, 1 when something would (0 with
    /// --exit-zero), 2 when some input could not be read or the audit could not run.
    Audit(AuditArgs),
    /// Time the policy's `validate` on one request, optionally against a baseline module.
    Bench(BenchArgs),
    /// Time the policy against a floor module on the built-in fixtures and print a table.
    BenchSuite(SuiteArgs),
    /// Embed metadata.yml (and the README) into the module, as `kwctl annotate` does.
    Annotate(AnnotateArgs),
    /// Print the metadata embedded in an annotated module, as `kwctl inspect` does.
    Inspect(InspectArgs),
    /// Internal: the peak-memory search, run in a child process by `bench` and `bench-suite`.
    #[command(hide = true)]
    PeakMemory(PeakMemoryArgs),
}

/// Arguments of the hidden `peak-memory` subcommand; the validate payload comes on stdin.
#[derive(Debug, Args)]
pub struct PeakMemoryArgs {
    /// The bytes given to `validate_settings`.
    #[arg(long)]
    pub settings_json: String,

    #[arg(value_name = "POLICY.wasm")]
    pub policy: PathBuf,
}

/// Flag names follow `kwctl annotate`.
#[derive(Debug, Args)]
pub struct AnnotateArgs {
    #[arg(short = 'm', long, value_name = "FILE")]
    pub metadata_path: PathBuf,

    /// A Markdown file embedded as the policy's usage (the README).
    #[arg(short = 'u', long, value_name = "FILE")]
    pub usage_path: Option<PathBuf>,

    #[arg(short = 'o', long, value_name = "FILE")]
    pub output_path: PathBuf,

    #[arg(value_name = "POLICY.wasm")]
    pub policy: PathBuf,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    #[arg(short = 'o', long, value_enum, default_value_t = InspectOutput::Yaml)]
    pub output: InspectOutput,

    /// The annotated module: a path, or a `file://` URI as kwctl takes.
    #[arg(value_name = "POLICY.wasm")]
    pub policy: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InspectOutput {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// File holding an AdmissionRequest, or a whole AdmissionReview (its `request` is used).
    #[arg(short = 'r', long, value_name = "FILE")]
    pub request_path: PathBuf,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// Judge the request on the instance that checked the settings, instead of a fresh one.
    #[arg(long)]
    pub reuse_instance: bool,

    /// The policy module: a path, or a `file://` URI as kwctl takes.
    #[arg(value_name = "POLICY.wasm")]
    pub policy: String,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub settings: SettingsArgs,

    /// The metadata whose `rules` say which kinds are judged. Default: the metadata
    /// embedded in the module (an annotated module, as published).
    #[arg(short = 'm', long, value_name = "FILE")]
    pub metadata_path: Option<PathBuf>,

    /// A ClusterAdmissionPolicy or AdmissionPolicy manifest: audit with its settings, its
    /// rules, and only the namespaces it sees, as it will be deployed.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["settings_json", "settings_path"])]
    pub policy_manifest: Option<PathBuf>,

    #[arg(short = 'o', long, value_enum, default_value_t = AuditOutput::Table)]
    pub output: AuditOutput,

    /// Exit 0 even when something would be rejected: report only.
    #[arg(long)]
    pub exit_zero: bool,

    /// Print, instead of the table, the settings that would admit every workload found
    /// rejected: the settings given, with an entry added for each image that is not exempt.
    #[arg(long, conflicts_with = "output")]
    pub suggest_settings: bool,

    /// How much of an image a suggested entry names.
    #[arg(long, value_enum, default_value_t = SuggestBy::Pinned, requires = "suggest_settings")]
    pub suggest_by: SuggestBy,

    /// Suggest the namespace of a rejected workload instead of its images. A namespace
    /// exempts everything anyone deploys there.
    #[arg(long, requires = "suggest_settings")]
    pub suggest_namespaces: bool,

    /// The policy module: a path, or a `file://` URI as kwctl takes.
    #[arg(value_name = "POLICY.wasm")]
    pub policy: String,

    /// Files or folders (read recursively for .yaml, .yml and .json) of YAML or JSON, one or
    /// many documents each, `List`s included; `-` for standard input.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AuditOutput {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SuggestBy {
    /// The image's digest when it is pinned by one, else its tag.
    Pinned,
    /// The image's repository, any tag or digest.
    Repository,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// File holding an AdmissionRequest, or a whole AdmissionReview (its `request` is used).
    #[arg(short = 'r', long, value_name = "FILE")]
    pub request_path: PathBuf,

    #[command(flatten)]
    pub settings: SettingsArgs,

    /// A second module timed call by call alongside the policy (e.g. the floor).
    #[arg(long, value_name = "OTHER.wasm")]
    pub baseline: Option<PathBuf>,

    /// Reuse one instance for every call, as `kwctl bench` does, instead of a fresh instance
    /// per call, as policy-server does for every request.
    #[arg(long)]
    pub reuse_instance: bool,

    #[command(flatten)]
    pub measurement: MeasurementArgs,

    /// The policy module.
    #[arg(value_name = "POLICY.wasm")]
    pub policy: PathBuf,
}

#[derive(Debug, Args)]
pub struct SuiteArgs {
    /// The floor module every row is compared with. Required unless only writing fixtures.
    #[arg(long, value_name = "FLOOR.wasm")]
    pub baseline: Option<PathBuf>,

    /// Write the generated requests and settings as JSON files into DIR.
    #[arg(long, value_name = "DIR")]
    pub write_fixtures: Option<PathBuf>,

    #[command(flatten)]
    pub measurement: MeasurementArgs,

    /// Also time `runner audit` on a generated cluster dump, with the rules of this
    /// metadata.yml.
    #[arg(long, value_name = "FILE")]
    pub audit_metadata: Option<PathBuf>,

    /// The policy module. Required unless only writing fixtures.
    #[arg(value_name = "POLICY.wasm")]
    pub policy: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Args)]
pub struct MeasurementArgs {
    /// Timed `validate` calls per module (after warm-up). Default: as many as fit in --time-ms.
    #[arg(long, value_name = "N")]
    pub iterations: Option<usize>,

    /// Time budget per module and per request when --iterations is not given.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub time_ms: u64,
}

/// Policy settings, given inline or as a file; `{}` when neither is given.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Settings as a JSON document.
    #[arg(long, value_name = "JSON", conflicts_with = "settings_path")]
    pub settings_json: Option<String>,

    /// Settings file, YAML or JSON (JSON is YAML), as kwctl reads it.
    #[arg(long, value_name = "FILE")]
    pub settings_path: Option<PathBuf>,
}

impl SettingsArgs {
    /// The settings document the policy receives.
    pub fn load(&self) -> Result<Value> {
        let settings: Value = match (&self.settings_json, &self.settings_path) {
            (Some(json), _) => serde_json::from_str(json)
                .map_err(|e| anyhow!("Cannot parse --settings-json as JSON: {e}"))?,
            (None, Some(path)) => {
                let text = fs::read_to_string(path)
                    .with_context(|| format!("Error reading settings from {}", path.display()))?;
                serde_yaml_ng::from_str(&text).with_context(|| {
                    format!("Cannot parse settings file {} as YAML", path.display())
                })?
            }
            (None, None) => Value::Object(Default::default()),
        };
        // An empty settings file is YAML `null`; kwctl treats it as "no settings".
        Ok(match settings {
            Value::Null => Value::Object(Default::default()),
            settings => settings,
        })
    }
}

/// The path a policy argument names: kwctl accepts `file://` URIs besides plain paths.
pub fn policy_path(policy: &str) -> &Path {
    Path::new(policy.strip_prefix("file://").unwrap_or(policy))
}
