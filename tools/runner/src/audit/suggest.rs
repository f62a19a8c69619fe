//! Which images keep a rejected workload out, and `--suggest-settings`: the settings that
//! would admit every workload found rejected.
//!
//! Whether an image is exempt is the policy's to say, so each one is asked of the policy:
//! the image is judged as the only one of a host-network Pod in no namespace, which no
//! `exempt_namespaces` entry can exempt, under the same settings. The suggested settings are
//! then checked the same way, by the policy: `validate_settings`, and every rejected object
//! judged again under them. What they still do not admit is said, with the policy's message.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;

use anyhow::{bail, Result};
use host_network_policy::{exemption_entry, EntryScope};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::input::Object;
use super::{evaluate, manifest, on_every_core, Finding, Judge, Verdict};
use crate::host::{GuestLogs, Policy, Regime};

/// The examples, as the policy ships them: their image entries name the node agents that
/// are expected on the host network.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "aks-cluster-admission-policy.yaml",
        include_str!("../../../../examples/aks-cluster-admission-policy.yaml"),
    ),
    (
        "eks-cluster-admission-policy.yaml",
        include_str!("../../../../examples/eks-cluster-admission-policy.yaml"),
    ),
    (
        "gke-cluster-admission-policy.yaml",
        include_str!("../../../../examples/gke-cluster-admission-policy.yaml"),
    ),
    (
        "monitor-mode-cluster-admission-policy.yaml",
        include_str!("../../../../examples/monitor-mode-cluster-admission-policy.yaml"),
    ),
    (
        "namespaced-admission-policy.yaml",
        include_str!("../../../../examples/namespaced-admission-policy.yaml"),
    ),
    (
        "per-namespace-images-cluster-admission-policies.yaml",
        include_str!("../../../../examples/per-namespace-images-cluster-admission-policies.yaml"),
    ),
];

/// The images of `images` that the policy does not exempt under `settings`, each asked once.
fn not_exempt_among<'i>(
    policy: &Policy,
    settings: &RawValue,
    images: &[&'i str],
    progress: &indicatif::ProgressBar,
) -> Result<HashSet<&'i str>> {
    let verdicts = on_every_core(images, progress, |image| -> Result<bool> {
        let probe = probe(image)?;
        Ok(evaluate(policy, settings, &Object::unlocated(&probe)?)?.accepted)
    })?;
    let mut out = HashSet::new();
    for (image, exempt) in images.iter().zip(verdicts) {
        if !exempt? {
            out.insert(*image);
        }
    }
    Ok(out)
}

/// A host-network Pod in no namespace whose only image is `image`.
fn probe(image: &str) -> Result<Box<RawValue>> {
    Ok(serde_json::value::to_raw_value(&json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "host-network-audit-probe"},
        "spec": {
            "hostNetwork": true,
            "containers": [{"name": "probe", "image": image}],
        },
    }))?)
}

/// Fills every rejected finding's `not_exempt`: its images the policy does not exempt, and
/// those it cannot judge because the holder names none.
pub fn find_not_exempt(policy: &Policy, judges: &[Judge], findings: &mut [Finding]) -> Result<()> {
    // The probes are not objects of the input: the progress does not count them.
    let progress = &indicatif::ProgressBar::hidden();
    for (at, judge) in judges.iter().enumerate() {
        let distinct: BTreeSet<&str> = findings
            .iter()
            .filter(|f| f.judge == at)
            .flat_map(|f| &f.images)
            .filter_map(|held| held.image.as_deref())
            .collect();
        let distinct: Vec<&str> = distinct.into_iter().collect();
        let denied: HashSet<String> =
            not_exempt_among(policy, &judge.settings, &distinct, progress)?
                .into_iter()
                .map(str::to_owned)
                .collect();
        for finding in findings.iter_mut().filter(|f| f.judge == at) {
            let mut seen = HashSet::new();
            finding.not_exempt = finding
                .images
                .iter()
                .filter(|held| {
                    held.image
                        .as_ref()
                        .is_none_or(|image| denied.contains(image))
                })
                .filter(|held| seen.insert((held.image.clone(), held.holder, held.name.clone())))
                .cloned()
                .collect();
        }
    }
    Ok(())
}

/// What to suggest.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub scope: EntryScope,
    /// A rejected workload's namespace rather than its images.
    pub namespaces: bool,
}

/// One suggested entry, with the workloads it admits.
#[derive(Debug, Default)]
struct Added {
    workloads: Vec<String>,
    /// An example that already exempts the image: an expected node agent.
    agent_in: Option<&'static str>,
    /// The image names no tag or digest: the entry pins `latest`.
    untagged: bool,
    /// The images, as written, it is suggested for.
    images: BTreeSet<String>,
}

/// The settings given, with the suggested entries, and what they still do not admit.
#[derive(Debug)]
pub struct Suggestion {
    given: serde_json::Map<String, Value>,
    /// The given settings with the suggested entries: what [`Suggestion::merge`] makes.
    settings: serde_json::Map<String, Value>,
    namespaces: BTreeMap<String, Added>,
    images: BTreeMap<String, Added>,
    /// Workloads with an image no suggested entry exempts, and which.
    unnameable: Vec<(String, String)>,
    /// Workloads the suggested settings still do not admit, with the policy's message.
    pub still_rejected: Vec<(String, String)>,
}

pub fn suggest(
    policy: &Policy,
    given: &Value,
    findings: &[Finding],
    options: Options,
) -> Result<Suggestion> {
    let Value::Object(settings) = given else {
        bail!("the settings are not a map, so no entry can be added to them");
    };
    let mut suggestion = Suggestion {
        given: settings.clone(),
        settings: settings.clone(),
        namespaces: BTreeMap::new(),
        images: BTreeMap::new(),
        unnameable: Vec::new(),
        still_rejected: Vec::new(),
    };
    let rejected: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.verdict == Verdict::Rejected)
        .collect();
    // An object reported under its owner needs what its owner needs, and is named by it.
    for finding in rejected.iter().filter(|f| f.grouped_under.is_none()) {
        let workload = finding.workload();
        if options.namespaces && !finding.namespace.is_empty() {
            push_once(
                &mut suggestion
                    .namespaces
                    .entry(finding.namespace.clone())
                    .or_default()
                    .workloads,
                &workload,
            );
            continue;
        }
        for held in &finding.not_exempt {
            let entry = held
                .image
                .as_deref()
                .and_then(|image| Some((image, exemption_entry(image, options.scope)?)));
            match entry {
                Some((image, entry)) => {
                    let added = suggestion.images.entry(entry.clone()).or_default();
                    push_once(&mut added.workloads, &workload);
                    added.untagged |= options.scope == EntryScope::Pinned && untagged(image);
                    added.images.insert(image.to_owned());
                }
                None => suggestion.unnameable.push((
                    workload.clone(),
                    match &held.image {
                        Some(image) => format!("{} {:?} image {image:?}", held.holder, held.name),
                        None => format!("{} {:?} names no image", held.holder, held.name),
                    },
                )),
            }
        }
    }
    suggestion.merge();
    suggestion.drop_entries_that_exempt_nothing(policy)?;
    suggestion.mark_agents(policy)?;
    suggestion.merge();

    let merged = serde_json::value::to_raw_value(&suggestion.settings)?;
    let evaluator = policy.evaluator(Regime::FreshInstance, GuestLogs::Discard)?;
    let checked = evaluator.validate_settings(merged.get().as_bytes())?;
    if !checked.valid {
        bail!(
            "the suggested settings are refused by the policy: {}",
            checked.message.unwrap_or_default()
        );
    }

    let progress = indicatif::ProgressBar::hidden();
    let kept: Vec<(&Finding, &RawValue)> = rejected
        .iter()
        .filter(|f| f.grouped_under.is_none())
        .filter_map(|f| Some((*f, f.object.as_deref()?)))
        .collect();
    let again = on_every_core(&kept, &progress, |(_, json)| -> Result<_> {
        evaluate(policy, &merged, &Object::unlocated(json)?)
    })?;
    for ((finding, _), response) in kept.iter().zip(again) {
        let response = response?;
        if !response.accepted {
            suggestion
                .still_rejected
                .push((finding.workload(), response.message.unwrap_or_default()));
        }
    }
    Ok(suggestion)
}

fn push_once(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_owned());
    }
}

/// Whether the image names neither tag nor digest, so the runtime pulls `latest`.
fn untagged(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    !last.contains(':') && !image.contains('@')
}

/// The list of strings at `key`, as the settings give it: `null` or absent is empty.
fn list(settings: &serde_json::Map<String, Value>, key: &str) -> Vec<Value> {
    match settings.get(key) {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

impl Suggestion {
    /// The given settings with the suggested entries after the given ones, skipping any
    /// already given: the node agents first, then the other findings, each group in name
    /// order.
    fn merge(&mut self) {
        self.settings = self.given.clone();
        for (key, added) in [
            ("exempt_namespaces", &self.namespaces),
            ("exempt_images", &self.images),
        ] {
            if added.is_empty() {
                continue;
            }
            let mut entries = list(&self.given, key);
            let mut order: Vec<(&String, &Added)> = added.iter().collect();
            order.sort_by_key(|(entry, added)| (added.agent_in.is_none(), *entry));
            for (entry, _) in order {
                let entry = Value::String(entry.clone());
                if !entries.contains(&entry) {
                    entries.push(entry);
                }
            }
            self.settings.insert(key.to_owned(), Value::Array(entries));
        }
    }

    /// Drops the suggested entries under which the policy still exempts none of their
    /// images, such as a short name under `short_names: not-exempt`, and says so.
    fn drop_entries_that_exempt_nothing(&mut self, policy: &Policy) -> Result<()> {
        let settings = serde_json::value::to_raw_value(&self.settings)?;
        let written: Vec<&str> = self
            .images
            .values()
            .flat_map(|added| added.images.iter().map(String::as_str))
            .collect();
        let denied: HashSet<String> = not_exempt_among(
            policy,
            &settings,
            &written,
            &indicatif::ProgressBar::hidden(),
        )?
        .into_iter()
        .map(str::to_owned)
        .collect();
        let short_names_refused =
            self.given.get("short_names").and_then(Value::as_str) == Some("not-exempt");
        let mut dropped = Vec::new();
        self.images.retain(|entry, added| {
            let useless = added.images.iter().all(|image| denied.contains(image));
            if useless {
                for workload in &added.workloads {
                    for image in &added.images {
                        dropped.push((
                            workload.clone(),
                            format!(
                                "image {image:?} is not exempt even by {entry:?}{}",
                                if short_names_refused {
                                    " (short_names: not-exempt; write the image with its registry)"
                                } else {
                                    ""
                                }
                            ),
                        ));
                    }
                }
            }
            !useless
        });
        self.unnameable.extend(dropped);
        Ok(())
    }

    /// Marks the entries whose image an example already exempts, asked of the policy under
    /// each example's settings.
    fn mark_agents(&mut self, policy: &Policy) -> Result<()> {
        let written: Vec<(String, String)> = self
            .images
            .iter()
            .filter_map(|(entry, added)| Some((entry.clone(), added.images.first()?.clone())))
            .collect();
        let images: Vec<&str> = written.iter().map(|(_, image)| image.as_str()).collect();
        for (file, settings) in example_settings()? {
            let settings = serde_json::value::to_raw_value(&settings)?;
            let denied = not_exempt_among(
                policy,
                &settings,
                &images,
                &indicatif::ProgressBar::hidden(),
            )?;
            for (entry, image) in &written {
                if let Some(added) = self.images.get_mut(entry) {
                    if added.agent_in.is_none() && !denied.contains(image.as_str()) {
                        added.agent_in = Some(file);
                    }
                }
            }
        }
        Ok(())
    }

    /// The settings as YAML to paste into the policy's `settings`, or to give back to
    /// `--settings-path`, each suggested entry commented with what it admits.
    pub fn render(&self, out: &mut impl Write) -> Result<()> {
        writeln!(
            out,
            "# Settings that admit every host-network workload the audit rejected: the settings given,"
        )?;
        writeln!(
            out,
            "# with an entry for each image that is not exempt. An exempt image runs with whatever"
        )?;
        writeln!(
            out,
            "# command a workload gives it: keep only the entries for agents that need the node's network."
        )?;
        for (key, value) in &self.settings {
            let added = match key.as_str() {
                "exempt_namespaces" => Some(&self.namespaces),
                "exempt_images" => Some(&self.images),
                _ => None,
            };
            match (value, added) {
                (Value::Array(entries), Some(added)) if !entries.is_empty() => {
                    writeln!(out, "{}:", scalar(key))?;
                    write_entries(out, entries, added)?;
                }
                (value, _) => writeln!(out, "{}: {}", scalar(key), flow(value))?,
            }
        }
        if !self.unnameable.is_empty() {
            writeln!(out, "# No image entry can admit:")?;
            for (workload, image) in &self.unnameable {
                writeln!(out, "#   {workload}: {image}")?;
            }
        }
        if !self.still_rejected.is_empty() {
            writeln!(out, "# Still rejected with these settings:")?;
            for (workload, message) in &self.still_rejected {
                writeln!(out, "#   {workload}: {}", message.replace('\n', " "))?;
            }
        }
        Ok(())
    }
}

/// A list of entries in the settings' order: the given ones as given, then the suggested
/// ones under a heading for their group, each after a comment saying what it admits.
fn write_entries(
    out: &mut impl Write,
    entries: &[Value],
    added: &BTreeMap<String, Added>,
) -> Result<()> {
    let mut group = None;
    for entry in entries {
        let Some(added) = entry.as_str().and_then(|e| added.get(e)) else {
            writeln!(out, "  - {}", flow(entry))?;
            continue;
        };
        let heading = if added.agent_in.is_some() {
            "node agents, as the examples exempt them"
        } else {
            "found on the host network"
        };
        if group != Some(heading) {
            writeln!(out, "  # --- Suggested: {heading} ---")?;
            group = Some(heading);
        }
        writeln!(out, "  # {}", added.comment())?;
        writeln!(out, "  - {}", flow(entry))?;
    }
    Ok(())
}

impl Added {
    fn comment(&self) -> String {
        const NAMED: usize = 3;
        let mut text = self
            .workloads
            .iter()
            .take(NAMED)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if self.workloads.len() > NAMED {
            text.push_str(&format!(" and {} more", self.workloads.len() - NAMED));
        }
        if self.untagged {
            text.push_str("; written without a tag, so this pins latest");
        }
        if let Some(file) = self.agent_in {
            text.push_str(&format!("; as in examples/{file}"));
        }
        text
    }
}

/// `text` as a YAML scalar: plain when YAML reads it back as that same string, else quoted
/// (JSON's quoting is YAML's double-quoted style).
fn scalar(text: &str) -> String {
    let plain = !text.is_empty()
        && !text.contains(['#', '\n', '"', '\'', '\\'])
        && text.trim() == text
        && serde_yaml_ng::from_str::<Value>(text).ok() == Some(Value::String(text.to_owned()));
    if plain {
        text.to_owned()
    } else {
        Value::String(text.to_owned()).to_string()
    }
}

/// A value other than an entry list, in YAML's flow style, which JSON is.
fn flow(value: &Value) -> String {
    match value {
        Value::String(text) => scalar(text),
        other => other.to_string(),
    }
}

/// The settings of every policy of the examples, by file.
fn example_settings() -> Result<Vec<(&'static str, Value)>> {
    let mut out = Vec::new();
    for (file, text) in EXAMPLES {
        for settings in manifest::settings_of_policies(text)? {
            out.push((*file, settings));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scalar_reads_back_as_the_same_string() {
        for text in [
            "quay.io/cilium/cilium:v1.15.1",
            "*.gcr.io/google-containers/pause",
            "[fd00::1]:5000/platform/agent",
            "null",
            "123",
            "true",
            "kube-system",
            "a #b",
            "",
        ] {
            let read: Value = serde_yaml_ng::from_str(&scalar(text)).unwrap();
            assert_eq!(
                read,
                Value::String(text.to_owned()),
                "{text:?} as {}",
                scalar(text)
            );
        }
        assert_eq!(scalar("kube-system"), "kube-system");
    }

    #[test]
    fn untagged_images_are_those_that_pull_latest() {
        assert!(untagged("nginx"));
        assert!(untagged("localhost:5000/app"));
        assert!(!untagged("nginx:1.27"));
        assert!(!untagged("nginx@sha256:0123"));
    }

    fn added(workloads: &[&str], agent_in: Option<&'static str>) -> Added {
        Added {
            workloads: workloads.iter().map(|w| (*w).to_owned()).collect(),
            agent_in,
            untagged: false,
            images: BTreeSet::new(),
        }
    }

    #[test]
    fn the_rendered_settings_read_back_as_the_merged_ones() {
        let given = json!({
            "exempt_images": ["registry.k8s.io/kube-proxy:*"],
            "exempt_namespaces": null,
            "short_names": "not-exempt",
        });
        let Value::Object(settings) = given else {
            unreachable!()
        };
        let mut suggestion = Suggestion {
            given: settings.clone(),
            settings,
            namespaces: BTreeMap::from([("null".to_owned(), added(&["Pod null/p"], None))]),
            images: BTreeMap::from([
                (
                    "quay.io/cilium/cilium:v1.15.1".to_owned(),
                    added(&["DaemonSet kube-system/cilium"], Some("x.yaml")),
                ),
                (
                    "docker.io/library/nginx:1.27".to_owned(),
                    added(&["Deployment a/w", "Pod a/p", "Pod a/q", "Pod a/r"], None),
                ),
            ]),
            unnameable: vec![(
                "Pod a/x".to_owned(),
                "container \"c\" names no image".to_owned(),
            )],
            still_rejected: vec![("Pod a/x".to_owned(), "not allowed\nat all".to_owned())],
        };
        suggestion.merge();
        let mut out = Vec::new();
        suggestion.render(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let read: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(
            read,
            json!({
                "exempt_images": [
                    "registry.k8s.io/kube-proxy:*",
                    "quay.io/cilium/cilium:v1.15.1",
                    "docker.io/library/nginx:1.27",
                ],
                "exempt_namespaces": ["null"],
                "short_names": "not-exempt",
            })
        );
        assert!(
            text.contains("  # Deployment a/w, Pod a/p, Pod a/q and 1 more\n  - docker.io/library/nginx:1.27\n"),
            "{text}"
        );
        assert!(
            text.contains("DaemonSet kube-system/cilium; as in examples/x.yaml"),
            "{text}"
        );
        // The node agents come before the other findings.
        let agent = text.find("quay.io/cilium").unwrap();
        let finding = text.find("docker.io/library/nginx").unwrap();
        assert!(agent < finding, "{text}");
        assert!(text.contains("#   Pod a/x: not allowed at all\n"), "{text}");
    }

    #[test]
    fn every_example_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".yaml"))
            .collect();
        files.sort();
        let embedded: Vec<&str> = EXAMPLES.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, embedded);
        assert!(example_settings().unwrap().len() > EXAMPLES.len());
    }
}
