//! The waPC host: compiles policy modules once, instantiates them, and answers their host calls.
//!
//! The only host capability a Kubewarden policy of ours may use is the SDK's logging
//! (`kubewarden/tracing/log`); any other call fails, naming the capability, so a policy that
//! starts depending on one is caught by the e2e tests rather than in a cluster.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;
use wapc::WapcHost;
use wasmtime_provider::wasmtime::{Cache, CacheConfig, Config, Engine, ExternType, Module};
use wasmtime_provider::{ResourceLimits, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::admission::{SettingsValidationResponse, ValidationResponse};

/// Size of a wasm linear-memory page.
pub const WASM_PAGE_BYTES: u64 = 64 * 1024;

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

impl GuestLogs {
    fn shows(self, event: &[u8]) -> bool {
        #[derive(Deserialize)]
        struct LogEvent<'a> {
            #[serde(borrow, default)]
            level: Option<&'a str>,
        }
        match self {
            Self::Discard => false,
            Self::Stderr {
                include_debug: true,
            } => true,
            // An event we cannot read is shown rather than lost.
            Self::Stderr {
                include_debug: false,
            } => {
                serde_json::from_slice::<LogEvent>(event).map_or(true, |e| e.level != Some("debug"))
            }
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

    /// A fresh instance, with `wapc_init` run.
    pub fn instantiate(&self, logs: GuestLogs) -> Result<Instance> {
        let provider = self.pre.rehydrate(None).map_err(|e| anyhow!("{e}"))?;
        Instance::start(&self.name, provider, logs)
    }

    /// A fresh instance whose linear memory may not grow beyond `max_memory_bytes`.
    pub fn instantiate_limited(&self, max_memory_bytes: u64) -> Result<Instance> {
        let limits = ResourceLimits {
            max_memory_size: Some(usize::try_from(max_memory_bytes)?),
            max_table_elements: None,
        };
        let provider = prepare(&self.engine, &self.module, Some(limits))?
            .rehydrate(None)
            .map_err(|e| anyhow!("{e}"))?;
        Instance::start(&self.name, provider, GuestLogs::Discard)
    }
}

/// A running policy instance. Calls on it reuse the same store and linear memory, as
/// policy-server does between requests.
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
