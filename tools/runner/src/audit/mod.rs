//! `runner audit`: judge every object of a cluster dump or a folder of manifests with the
//! compiled policy, and say what enforcing it would reject.
//!
//! Each object is wrapped in the CREATE AdmissionRequest Kubewarden's audit scanner builds
//! (`newAdmissionRequest` in kubewarden-controller v1.35.0,
//! `internal/audit-scanner/scanner/admission_request.go`): the object's own uid, name and
//! namespace, its group/version/kind, the kind again as the resource, and an empty `userInfo`.
//! It is judged on a fresh instance of the module with the settings given, as policy-server
//! judges a request. The verdicts and messages are the policy's: the audit only sorts them.

mod input;
mod manifest;
mod owners;
mod report;
mod rules;
mod suggest;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{anyhow, bail, Context, Result};
use host_network_policy::pod_specs;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::admission::ValidationResponse;
use crate::annotate::embedded_metadata;
use crate::cli::{policy_path, AuditArgs};
use crate::host::{CompilationCache, GuestLogs, Policy, Regime, Runtime};

use self::input::{Object, Origin, Problem};
use self::rules::Rules;

/// The exit status when the input could not all be read, or the audit could not run:
/// distinct from 1, "something would be rejected", so that CI can tell the two apart.
const BAD_INPUT: u8 = 2;

pub fn audit(args: &AuditArgs, cache: &CompilationCache) -> ExitCode {
    match run(args, cache) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("{}", crate::error_report(&error));
            ExitCode::from(BAD_INPUT)
        }
    }
}

/// A policy the objects are judged by: its settings, the kinds it judges, the namespaces it
/// sees.
pub struct Judge {
    /// The policy's name, when the manifest holds several.
    name: Option<String>,
    /// The settings as given.
    given: Value,
    /// The same, serialised once: every request carries the same bytes.
    settings: Box<RawValue>,
    rules: Rules,
    /// `None` without a manifest: every namespace is seen.
    scope: Option<manifest::Manifest>,
}

fn run(args: &AuditArgs, cache: &CompilationCache) -> Result<ExitCode> {
    let path = policy_path(&args.policy);
    // The module's rules, unless a manifest gives its own.
    let module_rules = || -> Result<Rules> {
        match &args.metadata_path {
            Some(metadata) => Rules::from_metadata_file(metadata),
            None => Rules::from_metadata(&embedded_metadata(path)?.ok_or_else(|| {
                anyhow!(
                    "{} has no embedded metadata to take its rules from: annotate it, or give --metadata-path metadata.yml",
                    path.display()
                )
            })?),
        }
    };
    let judges: Vec<Judge> = match &args.policy_manifest {
        None => {
            let given = args.settings.load()?;
            vec![Judge {
                name: None,
                settings: serde_json::value::to_raw_value(&given)?,
                given,
                rules: module_rules()?,
                scope: None,
            }]
        }
        Some(file) => {
            let manifests = manifest::Manifest::read_all(file)?;
            if args.suggest_settings && manifests.len() > 1 {
                bail!(
                    "--suggest-settings suggests the settings of one policy, and {} holds {} ({}): give a file with the one to suggest for",
                    file.display(),
                    manifests.len(),
                    manifests.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
                );
            }
            let several = manifests.len() > 1;
            manifests
                .into_iter()
                .map(|mut manifest| {
                    for caveat in &manifest.caveats {
                        eprintln!("warning: {caveat}");
                    }
                    Ok(Judge {
                        name: several.then(|| manifest.name.clone()),
                        settings: serde_json::value::to_raw_value(&manifest.settings)?,
                        given: manifest.settings.clone(),
                        rules: match manifest.rules.take() {
                            Some(rules) => rules,
                            None => module_rules()?,
                        },
                        scope: Some(manifest),
                    })
                })
                .collect::<Result<_>>()?
        }
    };

    let runtime = Runtime::new(cache)?;
    let policy = runtime.load(path)?;
    for judge in &judges {
        policy
            .evaluator(Regime::FreshInstance, GuestLogs::Discard)?
            .validate_settings(judge.settings.get().as_bytes())?
            .into_result()
            .with_context(|| match &judge.name {
                Some(name) => format!("the settings of policy {name}"),
                None => "the settings".to_owned(),
            })?;
    }

    let mut files = Vec::new();
    let mut audit = Audit::default();
    // indicatif draws nothing when standard error is not a terminal, so piped and CI runs
    // print only the report.
    let progress = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} objects judged ({per_sec}) {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    for input in &args.inputs {
        if let Err(problem) = input::files(input, &mut files) {
            audit.problems.push(problem);
        }
    }
    for file in &files {
        progress.set_message(file.display().to_string());
        let source = match input::read(file) {
            Ok(source) => source,
            Err(problem) => {
                audit.problems.push(problem);
                continue;
            }
        };
        let mut objects = Vec::new();
        input::objects(&source, &mut objects, &mut audit.problems);
        let mut judged = Vec::new();
        for object in objects {
            let (group, version) = object.head.group_version();
            let covers = |judge: &Judge| judge.rules.cover(group, version, object.head.kind());
            let seeing: Vec<usize> = judges
                .iter()
                .enumerate()
                .filter(|(_, judge)| {
                    covers(judge)
                        && judge
                            .scope
                            .as_ref()
                            .is_none_or(|m| m.sees(object.head.namespace()))
                })
                .map(|(at, _)| at)
                .collect();
            if !seeing.is_empty() {
                judged.push((object, seeing));
            } else if judges.iter().any(covers) {
                audit.unseen += 1;
            } else {
                *audit
                    .not_judged
                    .entry(object.head.kind().to_owned())
                    .or_default() += 1;
            }
        }
        let keep = Keep {
            object: args.suggest_settings,
        };
        audit
            .findings
            .extend(judge_all(&policy, &judges, judged, keep, &progress)?);
    }
    suggest::find_not_exempt(&policy, &judges, &mut audit.findings)?;
    owners::group(&mut audit.findings);
    progress.finish_and_clear();

    let failed = audit.findings.iter().any(|f| f.verdict == Verdict::Error);
    let rejected = if args.suggest_settings {
        let options = suggest::Options {
            scope: match args.suggest_by {
                crate::cli::SuggestBy::Pinned => host_network_policy::EntryScope::Pinned,
                crate::cli::SuggestBy::Repository => host_network_policy::EntryScope::Repository,
            },
            namespaces: args.suggest_namespaces,
        };
        let Some(judge) = judges.first() else {
            bail!("no policy to suggest settings for");
        };
        let suggestion = suggest::suggest(&policy, &judge.given, &audit.findings, options)?;
        suggestion.render(&mut std::io::stdout().lock())?;
        eprintln!("{}", report::summary(&audit));
        !suggestion.still_rejected.is_empty()
    } else {
        match args.output {
            crate::cli::AuditOutput::Table => report::table(&audit, &mut std::io::stdout().lock())?,
            crate::cli::AuditOutput::Json => report::json(&audit, &mut std::io::stdout().lock())?,
        }
        audit
            .findings
            .iter()
            .any(|f| f.verdict == Verdict::Rejected)
    };
    for problem in &audit.problems {
        eprintln!("error: {problem}");
    }
    Ok(if !audit.problems.is_empty() || failed {
        ExitCode::from(BAD_INPUT)
    } else if rejected && !args.exit_zero {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// What a finding keeps of its object beyond the policy's answer.
#[derive(Debug, Clone, Copy, Default)]
struct Keep {
    /// The object itself, when it is rejected: to judge it again under suggested settings.
    object: bool,
}

/// Everything an audit found.
#[derive(Debug, Default)]
pub struct Audit {
    pub findings: Vec<Finding>,
    /// Objects of kinds the policy's rules do not cover, by kind.
    pub not_judged: BTreeMap<String, usize>,
    /// Objects in namespaces the policy manifest does not see.
    pub unseen: usize,
    pub problems: Vec<Problem>,
}

/// What the policy said of one object.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(flatten)]
    pub origin: Origin,
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub verdict: Verdict,
    /// The policy whose answer this is, when the manifest holds several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Its index among the judges.
    #[serde(skip)]
    judge: usize,
    /// The policy's rejection message, or why the object could not be judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
    /// A rejected object's images that the settings do not exempt, in its host-network pod
    /// specs, as the pod spec writes them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_exempt: Vec<HeldImage>,
    /// Every image of a rejected object's host-network pod specs.
    #[serde(skip)]
    images: Vec<HeldImage>,
    /// A rejected object, kept when it is to be judged again.
    #[serde(skip)]
    object: Option<Box<RawValue>>,
    /// The owner it is reported under, as [`Finding::workload`] names it: its controller,
    /// or the controller's own, whose template it agrees with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grouped_under: Option<String>,
    /// How many objects of each kind are reported under it.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, usize>,
    #[serde(skip)]
    identity: Identity,
}

/// What ties an object to its owner, and what it must agree with its owner on to be
/// reported under it.
#[derive(Debug, Default, Clone)]
struct Identity {
    uid: String,
    controller: Option<String>,
    /// Whether a pod spec of it uses the host network.
    host_network: bool,
    /// Every image its pod specs name, each once.
    images: std::collections::BTreeSet<String>,
}

impl Finding {
    /// A finding of the object `head` describes, before the policy has answered.
    fn unjudged(origin: Origin, head: &input::Head, identity: Identity) -> Self {
        Finding {
            origin,
            api_version: head.api_version.clone().unwrap_or_default(),
            kind: head.kind().to_owned(),
            namespace: head.namespace().to_owned(),
            name: head.name().to_owned(),
            verdict: Verdict::Error,
            policy: None,
            judge: 0,
            message: None,
            warnings: Vec::new(),
            audit_annotations: BTreeMap::new(),
            not_exempt: Vec::new(),
            images: Vec::new(),
            object: None,
            grouped_under: None,
            members: BTreeMap::new(),
            identity,
        }
    }

    /// How a person names the object: `Deployment default/web`.
    pub fn workload(&self) -> String {
        format!("{} {}", self.kind, self.namespaced_name())
    }

    /// `namespace/name`, or the name alone for a cluster-scoped object.
    pub fn namespaced_name(&self) -> String {
        let name = if self.name.is_empty() {
            "(unnamed)"
        } else {
            &self.name
        };
        if self.namespace.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.namespace)
        }
    }
}

/// An image with the container or volume that names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldImage {
    /// `container`, `initContainer`, `ephemeralContainer` or `volume`.
    pub holder: &'static str,
    pub name: String,
    /// `None` when the holder names no image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// How the policy's answer reads, sorted by what enforcing it would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Enforcing the policy would reject it.
    Rejected,
    /// Allowed by an exemption: the policy set an audit annotation.
    Exempt,
    /// Allowed with a warning and no exemption.
    AllowedWithWarning,
    /// Allowed with nothing to say: the object does not use the host network.
    Allowed,
    /// The host could not run the policy on it.
    Error,
}

impl Verdict {
    /// Lower is worse: an object that could not be judged, then one rejected.
    fn severity(self) -> u8 {
        match self {
            Self::Error => 0,
            Self::Rejected => 1,
            Self::Exempt => 2,
            Self::AllowedWithWarning => 3,
            Self::Allowed => 4,
        }
    }

    fn of(response: &ValidationResponse) -> Self {
        let annotated = response
            .audit_annotations
            .as_ref()
            .is_some_and(|a| !a.is_empty());
        let warned = response.warnings.as_ref().is_some_and(|w| !w.is_empty());
        match (response.accepted, annotated, warned) {
            (false, _, _) => Self::Rejected,
            (true, true, _) => Self::Exempt,
            (true, false, true) => Self::AllowedWithWarning,
            (true, false, false) => Self::Allowed,
        }
    }
}

/// Judges `objects` on every core, each on a fresh instance; the findings keep the input's
/// order.
fn judge_all(
    policy: &Policy,
    judges: &[Judge],
    objects: Vec<(Object<'_>, Vec<usize>)>,
    keep: Keep,
    progress: &indicatif::ProgressBar,
) -> Result<Vec<Finding>> {
    on_every_core(&objects, progress, |(object, seeing)| {
        judge(policy, judges, seeing, object, keep)
    })
}

/// `each` of every item, on every core; the results keep the items' order.
fn on_every_core<T: Sync, R: Send>(
    items: &[T],
    progress: &indicatif::ProgressBar,
    each: impl Fn(&T) -> R + Sync,
) -> Result<Vec<R>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let at = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(at) else { break };
                        mine.push((at, each(item)));
                        progress.inc(1);
                    }
                    mine
                })
            })
            .collect();
        // A worker that died would take its findings with it: the audit fails rather
        // than report fewer objects than it read.
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| anyhow!("an audit worker stopped before judging its objects"))
            })
            .collect::<Result<Vec<_>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    results.sort_by_key(|(at, _)| *at);
    Ok(results.into_iter().map(|(_, result)| result).collect())
}

/// Judges `object` under each policy of `seeing`; the finding gives the most severe
/// answer, as the API server refuses what any webhook refuses.
fn judge(
    policy: &Policy,
    judges: &[Judge],
    seeing: &[usize],
    object: &Object<'_>,
    keep: Keep,
) -> Finding {
    let head = &object.head;
    let mut finding = Finding::unjudged(
        object.origin.clone(),
        head,
        Identity {
            uid: head.uid().to_owned(),
            controller: head.controller_uid().map(str::to_owned),
            ..Identity::default()
        },
    );
    let mut severity = None;
    for &at in seeing {
        let Some(judge) = judges.get(at) else {
            continue;
        };
        let (verdict, answer) = match evaluate(policy, &judge.settings, object) {
            Ok(response) => (Verdict::of(&response), Ok(response)),
            Err(error) => (Verdict::Error, Err(format!("{error:#}"))),
        };
        if severity.is_some_and(|worst| verdict.severity() >= worst) {
            continue;
        }
        severity = Some(verdict.severity());
        finding.verdict = verdict;
        finding.judge = at;
        finding.policy = judge.name.clone();
        match answer {
            Ok(response) => {
                finding.message = response.message;
                finding.warnings = response.warnings.unwrap_or_default();
                finding.audit_annotations = response.audit_annotations.unwrap_or_default();
            }
            Err(error) => {
                finding.message = Some(error);
                finding.warnings = Vec::new();
                finding.audit_annotations = BTreeMap::new();
            }
        }
    }
    // The pod specs, by the policy's own walk; none when the policy cannot read the
    // object, whose rejection says why.
    let (group, _) = head.group_version();
    let specs = pod_specs(group, head.kind(), object.json.get().as_bytes()).unwrap_or_default();
    for spec in specs {
        finding.identity.host_network |= spec.host_network;
        for image in spec.images {
            if let Some(written) = &image.image {
                finding.identity.images.insert(written.clone());
            }
            if spec.host_network && finding.verdict == Verdict::Rejected {
                finding.images.push(HeldImage {
                    holder: image.holder_kind,
                    name: image.holder,
                    image: image.image,
                });
            }
        }
    }
    if finding.verdict == Verdict::Rejected && keep.object {
        finding.object = Some(object.json.clone().into_owned());
    }
    finding
}

fn evaluate(
    policy: &Policy,
    settings: &RawValue,
    object: &Object<'_>,
) -> Result<ValidationResponse> {
    let payload = validate_payload(object, settings)?;
    policy
        .evaluator(Regime::FreshInstance, GuestLogs::Discard)?
        .validate(&payload)
}

/// The group, version and kind of the audit scanner's request.
#[derive(Serialize)]
struct GroupVersionKind<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
}

#[derive(Serialize)]
struct GroupVersionResource<'a> {
    group: &'a str,
    version: &'a str,
    resource: &'a str,
}

/// The fields of `admission/v1` AdmissionRequest the scanner sets, serialised as Go does
/// (`omitempty` on name and namespace; `userInfo` is a struct, so `{}`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScannerRequest<'a> {
    uid: &'a str,
    kind: GroupVersionKind<'a>,
    resource: GroupVersionResource<'a>,
    request_kind: GroupVersionKind<'a>,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    namespace: &'a str,
    operation: &'static str,
    user_info: BTreeMap<String, Value>,
    object: &'a RawValue,
}

#[derive(Serialize)]
struct Payload<'a> {
    request: ScannerRequest<'a>,
    settings: &'a RawValue,
}

/// The bytes policy-server would hand to `validate` for the scanner's request.
fn validate_payload(object: &Object<'_>, settings: &RawValue) -> Result<Vec<u8>> {
    let head = &object.head;
    let (group, version) = head.group_version();
    let kind = head.kind();
    let gvk = || GroupVersionKind {
        group,
        version,
        kind,
    };
    serde_json::to_vec(&Payload {
        request: ScannerRequest {
            uid: head.uid(),
            kind: gvk(),
            // The scanner puts the kind where the resource goes; kept, so that the policy
            // reads what it reads in a cluster.
            resource: GroupVersionResource {
                group,
                version,
                resource: kind,
            },
            request_kind: gvk(),
            name: head.name(),
            namespace: head.namespace(),
            operation: "CREATE",
            user_info: BTreeMap::new(),
            object: &object.json,
        },
        settings,
    })
    .context("cannot serialise the validate payload")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn raw(json: &str) -> &RawValue {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_request_is_the_audit_scanners() {
        let object = Object {
            origin: Origin {
                source: "x".to_owned(),
                document: 1,
                line: 1,
            },
            json: Cow::Borrowed(raw(
                r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default","uid":"u-1"}}"#,
            )),
            head: serde_json::from_str(
                r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default","uid":"u-1"}}"#,
            )
            .unwrap(),
        };
        let payload: Value =
            serde_json::from_slice(&validate_payload(&object, raw(r#"{"a":1}"#)).unwrap()).unwrap();
        assert_eq!(
            payload,
            serde_json::json!({
                "request": {
                    "uid": "u-1",
                    "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                    "resource": {"group": "apps", "version": "v1", "resource": "Deployment"},
                    "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                    "name": "web",
                    "namespace": "default",
                    "operation": "CREATE",
                    "userInfo": {},
                    "object": serde_json::from_str::<Value>(object.json.get()).unwrap(),
                },
                "settings": {"a": 1},
            })
        );
    }

    #[test]
    fn a_cluster_scoped_object_has_no_namespace_in_the_request() {
        let json = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}"#;
        let object = Object {
            origin: Origin {
                source: "x".to_owned(),
                document: 1,
                line: 1,
            },
            json: Cow::Borrowed(raw(json)),
            head: serde_json::from_str(json).unwrap(),
        };
        let payload: Value =
            serde_json::from_slice(&validate_payload(&object, raw("{}")).unwrap()).unwrap();
        assert!(payload["request"].get("namespace").is_none());
        assert_eq!(payload["request"]["kind"]["group"], "");
    }
}
