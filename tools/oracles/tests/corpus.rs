//! Every fuzz target's oracle, run on stable Rust over the inputs fuzzing starts from and
//! the inputs it once stopped at: the seed corpus `fuzz/seed.sh` writes from test_data/,
//! `fuzz/regressions/TARGET/` (committed), and `fuzz/artifacts/TARGET/` where a local fuzz
//! run left any. The structured target, whose inputs are bytes for `arbitrary`, also gets a
//! fixed stream of generated inputs, so its model is exercised in every `make test`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Fewer seeds than this means seeding broke, not that there is less to check.
const MIN_SEEDS: usize = 20;
/// Generated inputs for the structured target: about a second natively.
const GENERATED: usize = 20000;

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The seed corpus, written once per test run by `fuzz/seed.sh` into a folder of its own.
fn seeds() -> &'static Path {
    static SEEDS: OnceLock<PathBuf> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-seeds");
        let _ = fs::remove_dir_all(&dir);
        let status = Command::new("bash")
            .arg(root().join("fuzz/seed.sh"))
            .arg(&dir)
            .status()
            .expect("bash runs fuzz/seed.sh");
        assert!(status.success(), "fuzz/seed.sh failed: {status}");
        dir
    })
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The saved inputs of `target`: committed regressions and local artifacts.
fn saved(target: &str) -> Vec<PathBuf> {
    let mut files = files_in(&root().join("fuzz/regressions").join(target));
    files.extend(files_in(&root().join("fuzz/artifacts").join(target)));
    files
}

/// Runs `oracle` over every seed and saved input of `target`, naming the file that fails.
fn run_over(target: &str, min_seeds: usize, oracle: fn(&[u8])) {
    let seeds = files_in(&seeds().join(target));
    assert!(
        seeds.len() >= min_seeds,
        "{target}: only {} seeds",
        seeds.len()
    );
    for file in seeds.iter().chain(&saved(target)) {
        let input = fs::read(file).expect("a readable input");
        let outcome = std::panic::catch_unwind(|| oracle(&input));
        assert!(outcome.is_ok(), "{target}: the oracle fails on {file:?}");
    }
}

#[test]
fn validate_payload_holds_over_its_corpus() {
    run_over("validate_payload", MIN_SEEDS, oracles::validate_payload);
}

#[test]
fn validate_settings_holds_over_its_corpus() {
    run_over("validate_settings", 5, oracles::validate_settings);
}

#[test]
fn image_reference_holds_over_its_corpus() {
    run_over("image_reference", MIN_SEEDS, oracles::image_reference);
}

#[test]
fn validate_structured_holds_over_generated_and_saved_inputs() {
    run_over("validate_structured", 0, oracles::structured::check_bytes);
    // xorshift64*: a fixed stream, so a failure here is the same failure on every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    for _ in 0..GENERATED {
        let len = 8 + (next() % 120) as usize;
        let input: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let outcome = std::panic::catch_unwind(|| oracles::structured::check_bytes(&input));
        assert!(outcome.is_ok(), "validate_structured fails on {input:?}");
    }
}

/// The saved settings input: valid `exempt_namespaces: [kube-system]` beside a refused
/// image entry admits the kube-system pod by its namespace, which the checked entries
/// alone admit too. The oracle's old rule, "refused settings admit nothing", stopped here.
#[test]
fn refused_settings_may_admit_what_their_checked_entries_admit() {
    let input = fs::read(
        root().join("fuzz/regressions/validate_settings/namespace-beside-refused-image-entry.json"),
    )
    .expect("the saved input");
    assert!(!host_network_policy::check_settings(&input).valid);
    let text = std::str::from_utf8(&input).expect("text");
    let checked = oracles::without_refused_entries(text).expect("an object");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&checked).expect("JSON"),
        serde_json::json!({"exempt_namespaces": ["kube-system"], "exempt_images": []})
    );
    oracles::validate_settings(&input);
}
