//! The release artifacts agree with each other: one version everywhere, the same rules in
//! metadata.yml and the examples, and example settings the policy itself accepts. The
//! Artifact Hub package is generated at release from metadata.yml and questions-ui.yml; e2e.bats
//! compares it with kwctl's own rendering.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

use host_network_policy::check_settings;
use host_network_policy::ImageField;
use host_network_policy::{
    LISTED_DENIED_IMAGES, LISTED_WARNING_ENTRIES, MAX_DISTINCT_IMAGES, MAX_ENTRIES,
    MAX_REFERENCE_LEN,
};
use serde::Deserialize;
use serde_yaml::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn yaml(relative: &str) -> Value {
    let text = std::fs::read_to_string(path(relative)).unwrap();
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

fn metadata() -> Value {
    yaml("metadata.yml")
}

/// Every policy manifest in `examples/`: one per YAML document, named `FILE` for a file of
/// one document and `FILE#N` for the Nth of several.
fn examples() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(path("examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let documents: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|document| Value::deserialize(document).unwrap_or_else(|e| panic!("{name}: {e}")))
            .collect();
        let several = documents.len() > 1;
        for (at, document) in documents.into_iter().enumerate() {
            let name = if several {
                format!("{name}#{at}")
            } else {
                name.clone()
            };
            found.push((name, document));
        }
    }
    found
}

#[test]
fn one_version_everywhere() {
    let metadata = metadata();
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.version"].as_str(),
        Some(VERSION),
        "metadata.yml io.kubewarden.policy.version"
    );
    let changelog = std::fs::read_to_string(path("CHANGELOG.md")).unwrap();
    // Keep a Changelog's `[Unreleased]` collects changes until the next version is named.
    let newest = changelog
        .lines()
        .find(|l| l.starts_with("## ") && !l.starts_with("## [Unreleased]"))
        .unwrap();
    assert!(
        newest.starts_with(&format!("## [{VERSION}]")),
        "CHANGELOG.md: {newest}"
    );
    for (name, example) in examples() {
        let module = example["spec"]["module"].as_str().unwrap();
        assert!(
            module.ends_with(&format!(":v{VERSION}")),
            "{name}: {module}"
        );
    }
    // The README's module URLs and the release it downloads the audit tool from.
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    let mut named = 0;
    for marker in ["policies/host-network:v", "VERSION=v"] {
        for (at, _) in readme.match_indices(marker) {
            let version: String = readme[at + marker.len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            assert_eq!(version, VERSION, "README.md: {marker}{version}");
            named += 1;
        }
    }
    assert!(named >= 3, "README.md names the version {named} times");
}

#[test]
fn metadata_declares_a_validating_wapc_policy() {
    let metadata = metadata();
    assert_eq!(metadata["mutating"], Value::Bool(false));
    assert_eq!(metadata["backgroundAudit"], Value::Bool(true));
    assert_eq!(metadata["executionMode"].as_str(), Some("kubewarden-wapc"));
    assert_eq!(metadata["contextAwareResources"], Value::Sequence(vec![]));
}

/// Every (group, resource, operation) the rules cover.
fn covered(rules: &Value) -> Vec<(String, String, String)> {
    let mut covered = Vec::new();
    for rule in rules.as_sequence().unwrap() {
        for group in rule["apiGroups"].as_sequence().unwrap() {
            for resource in rule["resources"].as_sequence().unwrap() {
                for operation in rule["operations"].as_sequence().unwrap() {
                    covered.push((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        operation.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    covered.sort();
    covered
}

#[test]
fn rules_cover_every_workload_kind_and_kubectl_debug() {
    let covered = covered(&metadata()["rules"]);
    let kinds = [
        ("", "pods"),
        ("", "replicationcontrollers"),
        ("apps", "deployments"),
        ("apps", "replicasets"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    ];
    for (group, resource) in kinds {
        for operation in ["CREATE", "UPDATE"] {
            let rule = (group.to_owned(), resource.to_owned(), operation.to_owned());
            assert!(covered.contains(&rule), "missing {rule:?}");
        }
    }
    let debug = (
        "".to_owned(),
        "pods/ephemeralcontainers".to_owned(),
        "UPDATE".to_owned(),
    );
    assert!(covered.contains(&debug));
}

#[test]
fn the_examples_carry_the_metadata_rules() {
    let rules = covered(&metadata()["rules"]);
    for (name, example) in examples() {
        assert_eq!(covered(&example["spec"]["rules"]), rules, "{name}");
    }
}

#[test]
fn the_questions_ask_for_every_setting() {
    let questions = yaml("questions-ui.yml");
    let variables: Vec<&str> = questions["questions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|q| q["variable"].as_str().unwrap())
        .collect();
    assert_eq!(
        variables,
        ["exempt_namespaces", "exempt_images", "short_names"]
    );
}

#[test]
fn every_example_has_settings_the_policy_accepts() {
    let examples = examples();
    assert!(examples.len() >= 5, "{}", examples.len());
    for (name, example) in examples {
        let settings = &example["spec"]["settings"];
        let json = serde_json::to_vec(settings).unwrap();
        let verdict = check_settings(&json);
        assert!(verdict.valid, "{name}: {:?}", verdict.message);
    }
}

#[test]
fn the_readme_lists_every_image_field_of_a_pod_spec() {
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    for field in ImageField::ALL {
        let row = format!("| `{}` |", field.path());
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}

/// A namespace that exists only with an optional component must not be exempt by default:
/// on a cluster without it, whoever may create namespaces could create it. Under the AKS
/// example's settings, a host-network pod in Calico's namespaces is rejected, and one in
/// kube-system exempt.
#[test]
fn the_aks_example_exempts_no_namespace_that_may_not_exist() {
    let (_, aks) = examples()
        .into_iter()
        .find(|(name, _)| name == "aks-cluster-admission-policy.yaml")
        .unwrap();
    let settings = serde_json::to_string(&aks["spec"]["settings"]).unwrap();
    let judge = |namespace: &str| {
        let request = serde_json::json!({
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": namespace, "operation": "CREATE",
            "object": {"metadata": {"name": "p"}, "spec": {"hostNetwork": true,
                "containers": [{"name": "a", "image": "quay.io/tigera/operator:v1.36.0"}]}}
        });
        let payload = format!(r#"{{"request": {request}, "settings": {settings}}}"#);
        host_network_policy::evaluate(payload.as_bytes()).accepted
    };
    assert!(judge("kube-system"));
    for namespace in ["calico-system", "tigera-operator"] {
        assert!(!judge(namespace), "{namespace} is exempt by {settings}");
    }
}

/// The figures the README gives for the bounds are the bounds the policy enforces
/// (src/limits.rs owns them).
#[test]
fn the_readme_gives_the_bounds_the_policy_enforces() {
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    for phrase in [
        format!("more than {MAX_ENTRIES} entries in a list"),
        format!("each list of the settings has at most {MAX_ENTRIES} entries"),
        format!("longer than any valid reference ({MAX_REFERENCE_LEN} characters)"),
        format!("at most {MAX_DISTINCT_IMAGES} distinct images judged"),
        format!("the first {LISTED_DENIED_IMAGES}, then a count"),
        format!("the first {LISTED_WARNING_ENTRIES}, then a count"),
    ] {
        assert!(readme.contains(&phrase), "README.md lacks {phrase:?}");
    }
}

/// The text of a job's steps, to find the commands it runs.
fn steps_text(job: &Value) -> String {
    serde_yaml::to_string(&job["steps"]).unwrap()
}

fn needs(job: &Value) -> Vec<&str> {
    job["needs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect()
}

#[test]
fn the_release_tests_signs_and_attaches_the_audit_tool_for_each_architecture() {
    let workflow = yaml(".github/workflows/release.yml");
    let jobs = &workflow["jobs"];
    let cli = &jobs["cli"];
    let matrix = cli["strategy"]["matrix"]["include"].as_sequence().unwrap();
    let arches: Vec<&str> = matrix.iter().map(|m| m["arch"].as_str().unwrap()).collect();
    assert_eq!(arches, ["x86_64", "aarch64"]);
    // Each is built on its own architecture, so that audit.bats runs the binary released.
    for entry in matrix {
        let runner = entry["runner"].as_str().unwrap();
        assert_eq!(
            runner.ends_with("-arm"),
            entry["arch"] == "aarch64",
            "{runner}"
        );
    }
    let built = steps_text(cli);
    assert!(
        built.contains("make cli CLI_ARCH=${{ matrix.arch }}"),
        "{built}"
    );
    assert!(built.contains("bats audit.bats"), "{built}");
    assert!(built.contains("dynamically linked"), "{built}");

    // Nothing is signed or released before the tools have passed.
    assert!(needs(&jobs["publish"]).contains(&"cli"));
    assert!(needs(&jobs["github-release"]).contains(&"cli"));
    let signed = steps_text(&jobs["publish"]);
    assert!(
        signed.contains("sha256sum host-network-policy-linux-* > SHA256SUMS"),
        "{signed}"
    );
    assert!(signed.contains("cosign sign-blob"), "{signed}");

    let released = steps_text(&jobs["github-release"]);
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    let makefile = std::fs::read_to_string(path("Makefile")).unwrap();
    assert!(makefile.contains("CLI := dist/host-network-policy-linux-$(CLI_ARCH)"));
    for arch in arches {
        for file in [
            format!("host-network-policy-linux-{arch}"),
            format!("host-network-policy-linux-{arch}.bundle.sigstore"),
        ] {
            assert!(
                released.contains(&file),
                "the release does not attach {file}"
            );
            // The README downloads what the release attaches.
            let in_readme = file.replace(arch, "$ARCH");
            assert!(
                readme.contains(&in_readme),
                "the README does not name {in_readme}"
            );
        }
    }
    assert!(released.contains("SHA256SUMS"));
    assert!(readme.contains("sha256sum --check --ignore-missing SHA256SUMS"));
    // The identity the README verifies is the workflow that signs.
    assert!(readme.contains(
        "--certificate-identity \"https://github.com/OWNER/host-network-policy/.github/workflows/release.yml@refs/tags/$VERSION\""
    ));
}

#[test]
fn every_workflow_job_has_a_timeout_and_a_prerelease_is_never_latest() {
    for workflow in [".github/workflows/ci.yml", ".github/workflows/release.yml"] {
        let jobs = yaml(workflow)["jobs"].as_mapping().unwrap().clone();
        for (name, job) in jobs {
            let minutes = job["timeout-minutes"].as_u64();
            assert!(
                minutes.is_some_and(|m| (1..=90).contains(&m)),
                "{workflow}: job {name:?} has timeout-minutes {minutes:?}"
            );
        }
    }
    let release = steps_text(&yaml(".github/workflows/release.yml")["jobs"]["github-release"]);
    assert!(
        release.contains("prerelease: ${{ contains(github.ref_name, '-') }}"),
        "{release}"
    );
    let renovate: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("renovate.json")).unwrap()).unwrap();
    assert!(renovate["minimumReleaseAge"].is_string(), "renovate.json");
}

#[test]
fn the_release_verifies_what_it_signed_as_the_readme_tells_operators_to() {
    let publish = steps_text(&yaml(".github/workflows/release.yml")["jobs"]["publish"]);
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    // The module: kwctl verify with the repository's owner and name.
    assert!(
        publish.contains("kwctl verify --github-owner \"${OWNER}\" --github-repo \"${REPO}\""),
        "{publish}"
    );
    assert!(readme.contains("kwctl verify --github-owner OWNER --github-repo host-network-policy"));
    let signed = publish.find("cosign sign --yes").unwrap();
    let verified = publish.find("kwctl verify").unwrap();
    assert!(
        signed < verified,
        "the module is verified before it is signed"
    );
    // The audit tools: the identity the README names is the one the workflow checks.
    assert!(publish.contains(
        "--certificate-identity \"https://github.com/${GITHUB_REPOSITORY}/.github/workflows/release.yml@${GITHUB_REF}\""
    ));
    // A verification config policy-server can use, for this repository.
    let config = readme
        .split("# verification-config.yml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README gives a verification config");
    let config: Value = serde_yaml::from_str(config).unwrap();
    assert_eq!(config["apiVersion"], "v1");
    assert_eq!(config["allOf"][0]["kind"], "githubAction");
    assert_eq!(config["allOf"][0]["repo"], "host-network-policy");
}

#[test]
fn artifact_hub_hears_of_a_release_only_once_it_is_pushed_signed_and_verified() {
    let workflow = yaml(".github/workflows/release.yml");
    let jobs = &workflow["jobs"];
    // The package is generated for the release, never read from the repository, where it
    // could only name the placeholder publisher: the first tag needs no pull request.
    assert!(
        !path("artifacthub-pkg.yml").exists(),
        "a committed artifacthub-pkg.yml would be read by Artifact Hub on main"
    );
    let branch = &jobs["artifacthub-branch"];
    assert!(needs(branch).contains(&"publish"));
    assert_eq!(branch["permissions"]["contents"], "write");
    let steps = steps_text(branch);
    assert!(steps.contains("make artifacthub-files"), "{steps}");
    assert!(steps.contains("HEAD:refs/heads/${branch}"), "{steps}");
    assert!(needs(&jobs["github-release"]).contains(&"artifacthub-branch"));
    // And publish verifies before the branch job can start.
    let publish = steps_text(&jobs["publish"]);
    assert!(publish.contains("kwctl verify"), "{publish}");
    let makefile = std::fs::read_to_string(path("Makefile")).unwrap();
    for file in ["artifacthub-pkg.yml", "README.md", "artifacthub-repo.yml"] {
        assert!(
            makefile.contains(&format!("$(ARTIFACTHUB_DIR)/{file}")),
            "make artifacthub-files does not write {file}"
        );
    }
}

#[test]
fn the_release_attaches_an_sbom_of_the_policy_crate_alone() {
    let jobs = &yaml(".github/workflows/release.yml")["jobs"];
    let build = steps_text(&jobs["build"]);
    assert!(build.contains("make sbom"), "{build}");
    // syft over the source tree lists the runner's wasmtime and the fuzz targets too.
    assert!(!build.contains("syft"), "{build}");
    let makefile = std::fs::read_to_string(path("Makefile")).unwrap();
    assert!(makefile.contains("cyclonedx --target $(WASM_TARGET) --no-build-deps"));
    for job in ["publish", "github-release"] {
        assert!(
            steps_text(&jobs[job]).contains("policy-sbom.cdx.json"),
            "{job} does not handle the SBOM make sbom writes"
        );
    }
}

#[test]
fn the_release_attests_the_provenance_of_what_it_publishes() {
    let jobs = &yaml(".github/workflows/release.yml")["jobs"];
    let publish = &jobs["publish"];
    assert_eq!(publish["permissions"]["attestations"], "write");
    assert_eq!(publish["permissions"]["id-token"], "write");
    let attests: Vec<&Value> = publish["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|step| {
            step["uses"]
                .as_str()
                .is_some_and(|uses| uses.starts_with("actions/attest-build-provenance@"))
        })
        .collect();
    // The module in the registry, by the digest that was signed, and the released files.
    assert!(attests.iter().any(|step| {
        step["with"]["subject-digest"] == "${{ steps.push.outputs.digest }}"
            && step["with"]["push-to-registry"] == true
    }));
    let paths = attests
        .iter()
        .find_map(|step| step["with"]["subject-path"].as_str())
        .expect("the released files are attested");
    for file in [
        "policy.wasm",
        "host-network-policy-linux-*",
        "policy-sbom.cdx.json",
    ] {
        assert!(
            paths.lines().any(|line| line == file),
            "{file} not attested"
        );
    }
}

#[test]
fn the_module_released_is_the_module_tested() {
    let jobs = &yaml(".github/workflows/release.yml")["jobs"];
    let build = steps_text(&jobs["build"]);
    let annotated = build.find("make annotated-policy.wasm").unwrap();
    let tested = build
        .find("make -o policy.wasm e2e-tests KWCTL=kwctl POLICY=\"${PWD}/annotated-policy.wasm\"")
        .expect("the build job runs e2e against the annotated module");
    assert!(annotated < tested);
    let publish = steps_text(&jobs["publish"]);
    let pushed = publish
        .find("make -o policy.wasm -o annotated-policy.wasm push")
        .unwrap();
    let tested = publish
        .find("POLICY=\"registry://${IMAGE}\" KWCTL=kwctl bats --filter-tags '!release' e2e.bats")
        .expect("the publish job runs e2e against the pushed reference");
    assert!(pushed < tested);
    assert!(needs(&jobs["github-release"]).contains(&"publish"));
    // Every release test is tagged, so that the run against the registry skips only those.
    let e2e = std::fs::read_to_string(path("e2e.bats")).unwrap();
    let release_tests = e2e.matches("@test \"release: ").count();
    assert!(release_tests >= 5);
    assert_eq!(
        e2e.matches("# bats test_tags=release\n@test \"release: ")
            .count(),
        release_tests
    );
}

#[test]
fn the_readme_deploys_the_policy_as_the_examples_do() {
    let readme = std::fs::read_to_string(path("README.md")).unwrap();
    let manifest = readme
        .split("## Deploying")
        .nth(1)
        .and_then(|rest| rest.split("```yaml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README's Deploying section has a manifest");
    let manifest: Value = serde_yaml::from_str(manifest).unwrap();
    let annotations = &metadata()["annotations"];
    for key in [
        "io.kubewarden.policy.category",
        "io.kubewarden.policy.severity",
    ] {
        assert_eq!(
            manifest["metadata"]["annotations"][key], annotations[key],
            "README's manifest: {key}"
        );
        for (name, example) in examples() {
            assert_eq!(
                example["metadata"]["annotations"][key], annotations[key],
                "{name}: {key}"
            );
        }
    }
}
