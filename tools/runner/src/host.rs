//! The waPC host: compiles policy modules once, instantiates them, and answers their host calls.
//!
//! It reproduces policy-server's regime (policy-server 1.31, through policy-evaluator): one
//! wasmtime engine with epoch interruption, ticked once a second; each module compiled once
//! into a `WasmtimeEngineProviderPre`; and for every request a fresh instance, rehydrated with
//! the epoch deadline of the default `--policy-timeout` and wrapped in a new `WapcHost`, so
//! `wapc_init` runs per request. `kwctl bench` reuses one instance; [`Regime`] offers both.
//!
//! The only host capability a Kubewarden policy of ours may use is the SDK's logging
//! (`kubewarden/tracing/log`); any other call fails, naming the capability, so a policy that
//! starts depending on one is caught by the e2e tests rather than in a cluster.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;
use wapc::WapcHost;
use wasmtime_provider::wasmtime::{Cache, CacheConfig, Config, Engine, ExternType, Module};
use wasmtime_provider::{
    EpochDeadlines, ResourceLimits, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre,
};

use crate::admission::{SettingsValidationResponse, ValidationResponse};

/// Size of a wasm linear-memory page.
pub const WASM_PAGE_BYTES: u64 = 64 * 1024;

/// policy-server's default `--policy-timeout`, in seconds: the epoch deadline of every
/// instance, with the engine's epoch ticked once a second, as policy-server ticks it.
pub const POLICY_TIMEOUT_SECONDS: u64 = 2;
const EPOCH_TICK: Duration = Duration::from_secs(1);

/// How a policy serves the calls made to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// A fresh instance for every call, as policy-server creates one for every request (and
    /// kwctl run for every run): rehydration, `wapc_init` and an empty linear memory each time.
    FreshInstance,
    /// One instance serving every call, as `kwctl bench` runs a policy.
    ReusedInstance,
}

impl Regime {
    pub fn label(self) -> &'static str {
        match self {
            Self::FreshInstance => "fresh instance per call",
            Self::ReusedInstance => "one instance reused",
        }
    }
}

/// Where wasmtime keeps compiled modules between runs.
#[derive(Debug, Clone)]
pub enum CompilationCache {
    Disabled,
    Directory(PathBuf),
}

impl CompilationCache {
    /// `$RUNNER_CACHE_DIR`, else `$XDG_CACHE_HOME/host-network-policy-runner`, else
    /// `$HOME/.cache/host-network-policy-runner`. wasmtime wants an absolute directory.
    pub fn from_env(disabled: bool) -> Self {
        if disabled {
            return Self::Disabled;
        }
        let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let directory = non_empty("RUNNER_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                non_empty("XDG_CACHE_HOME")
                    .map(|d| PathBuf::from(d).join("host-network-policy-runner"))
            })
            .or_else(|| {
                non_empty("HOME")
                    .map(|d| PathBuf::from(d).join(".cache/host-network-policy-runner"))
            });
        match directory {
            Some(directory) if directory.is_absolute() => Self::Directory(directory),
            _ => Self::Disabled,
        }
    }
}

/// Where the guest's log events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestLogs {
    /// One line of JSON per event on stderr. Debug events only with `include_debug`: kwctl
    /// logs at INFO unless `--verbose`, and bats merges stderr into `$output`.
    Stderr { include_debug: bool },
    /// Dropped, so that benchmarks time the policy rather than the terminal.
    Discard,
}

/// A log event as policy-evaluator reads it: parsed, whatever the level, before the level is
/// looked at, so that a record costs here what it costs in policy-server.
#[derive(Debug, Deserialize)]
struct PolicyLogEntry {
    level: String,
    #[allow(
        dead_code,
        reason = "parsed only so that a record costs what it costs there"
    )]
    message: Option<String>,
    #[allow(
        dead_code,
        reason = "parsed only so that a record costs what it costs there"
    )]
    #[serde(flatten)]
    data: Option<serde_json::Map<String, serde_json::Value>>,
}

impl GuestLogs {
    fn shows(self, event: &[u8]) -> bool {
        let parsed = serde_json::from_slice::<PolicyLogEntry>(event);
        match self {
            Self::Discard => false,
            Self::Stderr {
                include_debug: true,
            } => true,
            // An event we cannot read is shown rather than lost.
            Self::Stderr {
                include_debug: false,
            } => parsed.map_or(true, |e| !e.level.eq_ignore_ascii_case("debug")),
        }
    }
}

/// One wasmtime engine; every module of a process is compiled with it.
pub struct Runtime {
    engine: Engine,
}

impl Runtime {
    pub fn new(cache: &CompilationCache) -> Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // For `perf record`: the JIT code's symbols (see docs/performance.md).
        if std::env::var_os("RUNNER_PERFMAP").is_some() {
            config.profiler(wasmtime_provider::wasmtime::ProfilingStrategy::PerfMap);
        }
        if let CompilationCache::Directory(directory) = cache {
            // A cache that cannot be set up only costs time: warn and compile anyway.
            match open_cache(directory) {
                Ok(cache) => {
                    config.cache(Some(cache));
                }
                Err(error) => eprintln!(
                    "warning: wasmtime compilation cache disabled ({}): {error:#}",
                    directory.display()
                ),
            }
        }
        let engine =
            Engine::new(&config).map_err(|e| anyhow!("cannot create wasmtime engine: {e:?}"))?;
        let ticking = engine.clone();
        std::thread::Builder::new()
            .name("epoch-ticker".to_owned())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                ticking.increment_epoch();
            })
            .context("cannot start the epoch ticker")?;
        Ok(Self { engine })
    }

    /// Reads and compiles (or loads from the cache) a policy module.
    pub fn load(&self, path: &Path) -> Result<Policy> {
        let bytes = fs::read(path)
            .with_context(|| format!("cannot read policy module {}", path.display()))?;
        let module = Module::new(&self.engine, &bytes)
            .map_err(|e| anyhow!("cannot compile {} as a wasm module: {e:?}", path.display()))?;
        let pre = prepare(&self.engine, &module, None)
            .with_context(|| format!("cannot link {}", path.display()))?;
        Ok(Policy {
            path: path.to_owned(),
            name: path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            size_bytes: bytes.len() as u64,
            engine: self.engine.clone(),
            module,
            pre,
        })
    }
}

fn open_cache(directory: &Path) -> Result<Cache> {
    fs::create_dir_all(directory).context("cannot create the directory")?;
    let mut config = CacheConfig::new();
    config.with_directory(directory);
    Cache::new(config).map_err(|e| anyhow!("{e:?}"))
}

fn prepare(
    engine: &Engine,
    module: &Module,
    limits: Option<ResourceLimits>,
) -> Result<WasmtimeEngineProviderPre> {
    let mut builder = WasmtimeEngineProviderBuilder::new()
        .engine(engine.clone())
        .module(module.clone());
    if let Some(limits) = limits {
        builder = builder.enable_resource_limits(limits);
    }
    builder.build_pre().map_err(|e| anyhow!("{e}"))
}

/// A compiled policy module, ready to be instantiated any number of times.
pub struct Policy {
    path: PathBuf,
    name: String,
    size_bytes: u64,
    engine: Engine,
    module: Module,
    pre: WasmtimeEngineProviderPre,
}

impl Policy {
    /// The module's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The module's file name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size of the `.wasm` file.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The size the module's exported memory starts at (its declared minimum).
    pub fn initial_memory_bytes(&self) -> Option<u64> {
        self.module.exports().find_map(|export| match export.ty() {
            ExternType::Memory(memory) => Some(memory.minimum() * WASM_PAGE_BYTES),
            _ => None,
        })
    }

    /// A fresh instance, with `wapc_init` run: what policy-server makes for each request.
    pub fn instantiate(&self, logs: GuestLogs) -> Result<Instance> {
        let provider = self
            .pre
            .rehydrate(Some(deadlines()))
            .map_err(|e| anyhow!("{e}"))?;
        Instance::start(&self.name, provider, logs)
    }

    /// Something that answers calls to this module in `regime`.
    pub fn evaluator(&self, regime: Regime, logs: GuestLogs) -> Result<Evaluator<'_>> {
        let reused = match regime {
            Regime::ReusedInstance => Some(self.instantiate(logs)?),
            Regime::FreshInstance => None,
        };
        Ok(Evaluator {
            policy: self,
            logs,
            reused,
        })
    }

    /// A fresh instance whose linear memory may not grow beyond `max_memory_bytes`.
    pub fn instantiate_limited(&self, max_memory_bytes: u64) -> Result<Instance> {
        let limits = ResourceLimits {
            max_memory_size: Some(usize::try_from(max_memory_bytes)?),
            max_table_elements: None,
        };
        let provider = prepare(&self.engine, &self.module, Some(limits))?
            .rehydrate(Some(deadlines()))
            .map_err(|e| anyhow!("{e}"))?;
        Instance::start(&self.name, provider, GuestLogs::Discard)
    }
}

/// The epoch deadlines policy-evaluator sets: the timeout in ticks for `wapc_init` and for
/// each call.
fn deadlines() -> EpochDeadlines {
    EpochDeadlines {
        wapc_init: POLICY_TIMEOUT_SECONDS,
        wapc_func: POLICY_TIMEOUT_SECONDS,
    }
}

/// Answers calls to a module in a [`Regime`]: on a fresh instance each time, or on one kept.
pub struct Evaluator<'p> {
    policy: &'p Policy,
    logs: GuestLogs,
    reused: Option<Instance>,
}

impl Evaluator<'_> {
    /// Calls a guest function, on a fresh instance unless one is reused; the instance's
    /// creation is part of the call, as it is part of every request in policy-server.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        match &self.reused {
            Some(instance) => instance.call(operation, payload),
            None => self.policy.instantiate(self.logs)?.call(operation, payload),
        }
    }

    /// `validate_settings`, decoded.
    pub fn validate_settings(&self, settings: &[u8]) -> Result<SettingsValidationResponse> {
        SettingsValidationResponse::from_guest(&self.call("validate_settings", settings)?)
    }

    /// `validate`, decoded.
    pub fn validate(&self, payload: &[u8]) -> Result<ValidationResponse> {
        ValidationResponse::from_guest(&self.call("validate", payload)?)
    }
}

/// A running policy instance. Calls on it reuse the same store and linear memory, as
/// `kwctl bench` does between calls.
pub struct Instance {
    name: String,
    host: WapcHost,
}

impl Instance {
    fn start(
        name: &str,
        provider: wasmtime_provider::WasmtimeEngineProvider,
        logs: GuestLogs,
    ) -> Result<Self> {
        let host = WapcHost::new(
            Box::new(provider),
            Some(Box::new(
                move |_id, binding, namespace, operation, payload| {
                    host_call(logs, binding, namespace, operation, payload)
                },
            )),
        )
        .map_err(|e| anyhow!("cannot start {name}: {e}"))?;
        Ok(Self {
            name: name.to_owned(),
            host,
        })
    }

    /// Calls a guest function and returns its raw answer.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.host.call(operation, payload).map_err(|e| {
            anyhow!(
                "{}: the guest's `{operation}` failed (trap, missing export or guest error): {e}",
                self.name
            )
        })
    }

    /// `validate_settings`, decoded.
    pub fn validate_settings(&self, settings: &[u8]) -> Result<SettingsValidationResponse> {
        SettingsValidationResponse::from_guest(&self.call("validate_settings", settings)?)
    }

    /// `validate`, decoded.
    pub fn validate(&self, payload: &[u8]) -> Result<ValidationResponse> {
        ValidationResponse::from_guest(&self.call("validate", payload)?)
    }
}

type HostCallResult = std::result::Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;

fn host_call(
    logs: GuestLogs,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> HostCallResult {
    match (binding, namespace, operation) {
        ("kubewarden", "tracing", "log") => {
            if logs.shows(payload) {
                // One event per line: the SDK serialises the event as compact JSON.
                let mut stderr = std::io::stderr().lock();
                stderr.write_all(payload)?;
                stderr.write_all(b"\n")?;
            }
            Ok(Vec::new())
        }
        _ => Err(format!("unsupported host capability {binding}/{namespace}/{operation}").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_events_are_answered_with_an_empty_response() {
        let answer = host_call(GuestLogs::Discard, "kubewarden", "tracing", "log", b"{}");
        assert_eq!(answer.unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn debug_events_are_shown_only_when_verbose() {
        let debug = br#"{"level":"debug","message":"decision"}"#;
        let info = br#"{"level":"info","message":"starting"}"#;
        let quiet = GuestLogs::Stderr {
            include_debug: false,
        };
        let verbose = GuestLogs::Stderr {
            include_debug: true,
        };
        assert!(!quiet.shows(debug));
        assert!(quiet.shows(info));
        assert!(quiet.shows(b"not json"));
        assert!(verbose.shows(debug));
        assert!(!GuestLogs::Discard.shows(info));
    }

    /// A waPC guest whose `__guest_call` never returns, assembled by hand (no `wat` crate in
    /// the tree): `(func (param i32 i32) (result i32) (loop (br 0)) unreachable)`, exported
    /// with a memory.
    const ENDLESS_GUEST: &[u8] = &[
        0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
        0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type: (i32 i32) -> i32
        0x03, 0x02, 0x01, 0x00, // one function of that type
        0x05, 0x03, 0x01, 0x00, 0x01, // one memory, one page
        0x07, 0x19, 0x02, // two exports
        0x0c, b'_', b'_', b'g', b'u', b'e', b's', b't', b'_', b'c', b'a', b'l', b'l', 0x00, 0x00,
        0x06, b'm', b'e', b'm', b'o', b'r', b'y', 0x02, 0x00, 0x0a, 0x0a, 0x01, 0x08, 0x00, 0x03,
        0x40, 0x0c, 0x00, 0x0b, 0x00, 0x0b, // the loop
    ];

    #[test]
    fn an_endless_evaluation_is_interrupted_at_the_policy_timeout() {
        let directory = std::env::temp_dir().join(format!("runner-endless-{}", std::process::id()));
        fs::create_dir_all(&directory).unwrap();
        let path = directory.join("endless.wasm");
        fs::write(&path, ENDLESS_GUEST).unwrap();
        let policy = Runtime::new(&CompilationCache::Disabled)
            .unwrap()
            .load(&path)
            .unwrap();
        let evaluator = policy
            .evaluator(Regime::FreshInstance, GuestLogs::Discard)
            .unwrap();
        let started = std::time::Instant::now();
        let error = evaluator.call("validate", b"{}").unwrap_err().to_string();
        let waited = started.elapsed();
        let _ = fs::remove_dir_all(&directory);
        assert!(error.contains("interrupted"), "{error}");
        // Two ticks of one second: interrupted after more than one second and well before
        // anything like a hang.
        assert!(
            waited >= EPOCH_TICK && waited < EPOCH_TICK * (POLICY_TIMEOUT_SECONDS as u32 + 2),
            "{waited:?}"
        );
    }

    #[test]
    fn other_capabilities_are_refused_by_name() {
        let error = host_call(GuestLogs::Discard, "kubewarden", "oci", "v1/verify", b"{}")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "unsupported host capability kubewarden/oci/v1/verify"
        );
    }
}
