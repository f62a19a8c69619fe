//! The decision: a pure function from the request and the compiled exemptions to a verdict.
//! No I/O and no waPC here, so every rule is unit-tested natively.

use std::borrow::Cow;

use crate::request::{pod_spec_unchanged, AdmissionRequest};
use crate::settings::Exemptions;
use crate::view::LazyText;
use crate::workload::{ContainerList, PodSpecLocation, Spec};

/// Who the request is about, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject<'r> {
    pub kind: &'r str,
    pub namespace: &'r str,
    pub name: Cow<'r, str>,
}

/// Why a request was let through without a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unconcerned {
    /// DELETE and CONNECT create no pod.
    Operation,
    /// The object has no pod spec where its kind keeps one.
    NoPodSpec,
    /// No pod spec sets `hostNetwork: true`.
    NoHostNetwork,
}

/// An `exempt_images` entry that vouched for some of the pod's containers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryUse<'r> {
    pub entry: &'r str,
    /// The first image it exempted, as written.
    pub image: &'r str,
    /// How many containers it exempted.
    pub containers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exemption<'r> {
    Namespace {
        entry: &'r str,
    },
    /// The entries that exempted the images, each once, in the order first used.
    Images {
        entries: Vec<EntryUse<'r>>,
    },
}

/// Why an image does not exempt its pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageProblem {
    NotExempt,
    Missing,
    Invalid(String),
}

/// A container whose image keeps the pod from being exempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedImage<'r> {
    pub list: ContainerList,
    pub container: &'r str,
    pub image: &'r str,
    pub problem: ImageProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection<'r> {
    /// Where the offending `hostNetwork: true` is.
    pub location: PodSpecLocation,
    /// Whether any image exemptions are configured; if not, there are no images to list.
    pub images_configured: bool,
    /// The images that are not exempt, in pod order.
    pub denied: Vec<DeniedImage<'r>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'r> {
    Allowed(Unconcerned),
    Exempt(Exemption<'r>),
    /// An UPDATE that leaves an existing host-network pod spec untouched.
    Kept {
        location: PodSpecLocation,
    },
    Rejected(Rejection<'r>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'r> {
    pub subject: Subject<'r>,
    pub verdict: Verdict<'r>,
}

/// Judges one admission request. `payload` is the request's own bytes, read again only
/// for an UPDATE that would be rejected, to see whether the pod spec changed.
pub fn decide<'r>(
    request: &'r AdmissionRequest<'r>,
    payload: &[u8],
    exemptions: &'r Exemptions,
) -> Decision<'r> {
    let subject = Subject {
        kind: &request.kind.kind,
        namespace: request.namespace(),
        name: request.name(),
    };
    let verdict = judge(request, payload, exemptions, subject.namespace);
    Decision { subject, verdict }
}

fn judge<'r>(
    request: &'r AdmissionRequest<'r>,
    payload: &[u8],
    exemptions: &'r Exemptions,
    namespace: &'r str,
) -> Verdict<'r> {
    if matches!(request.operation.as_ref(), "DELETE" | "CONNECT") {
        return Verdict::Allowed(Unconcerned::Operation);
    }
    let Some(object) = &request.object else {
        return Verdict::Allowed(Unconcerned::NoPodSpec);
    };
    let mut found_pod_spec = false;
    let mut on_host_network: Vec<(PodSpecLocation, &'r Spec<'r>)> = Vec::new();
    for &location in PodSpecLocation::for_kind(&request.kind.group, &request.kind.kind) {
        if let Some(spec) = location.select(object) {
            found_pod_spec = true;
            if spec.uses_host_network() {
                on_host_network.push((location, spec));
            }
        }
    }
    if on_host_network.is_empty() {
        return Verdict::Allowed(if found_pod_spec {
            Unconcerned::NoHostNetwork
        } else {
            Unconcerned::NoPodSpec
        });
    }
    if let Some(entry) = exemptions.namespaces.find(namespace) {
        return Verdict::Exempt(Exemption::Namespace { entry });
    }

    let mut entries = Vec::new();
    let mut rejections = Vec::new();
    for (location, spec) in on_host_network {
        match judge_images(spec, exemptions) {
            Ok(used) => merge_entry_uses(&mut entries, used),
            Err(denied) => rejections.push(Rejection {
                location,
                images_configured: !exemptions.images.is_empty(),
                denied,
            }),
        }
    }
    let mut rejections = rejections.into_iter();
    let Some(first) = rejections.next() else {
        return Verdict::Exempt(Exemption::Images { entries });
    };
    // Adopting the policy must not freeze workloads that already use the host network:
    // scaling, relabelling or finalizing one leaves its pod spec as it was.
    if request.operation == "UPDATE"
        && pod_spec_unchanged(payload, first.location)
        && rejections.all(|r| pod_spec_unchanged(payload, r.location))
    {
        return Verdict::Kept {
            location: first.location,
        };
    }
    Verdict::Rejected(first)
}

/// The pod is exempt through its images only if every one of them is: one image that is
/// not, or is missing or unreadable, and the pod is judged like any other.
fn judge_images<'r>(
    spec: &'r Spec<'r>,
    exemptions: &'r Exemptions,
) -> Result<Vec<EntryUse<'r>>, Vec<DeniedImage<'r>>> {
    if exemptions.images.is_empty() {
        return Err(Vec::new());
    }
    let mut exempt = Vec::new();
    let mut denied = Vec::new();
    let mut any_container = false;
    for (list, container) in spec.all_containers() {
        any_container = true;
        // Text that is not UTF-8 cannot be a valid image; it is reported as missing.
        let written = container
            .image
            .as_ref()
            .and_then(LazyText::text)
            .unwrap_or_default();
        let deny = |problem| DeniedImage {
            list,
            container: container
                .name
                .as_ref()
                .and_then(LazyText::text)
                .unwrap_or_default(),
            image: written,
            problem,
        };
        if written.is_empty() {
            denied.push(deny(ImageProblem::Missing));
            continue;
        }
        match exemptions.images.judge(written) {
            Err(e) => denied.push(deny(ImageProblem::Invalid(e.to_string()))),
            Ok(Some(entry)) => merge_entry_uses(
                &mut exempt,
                [EntryUse {
                    entry: entry.as_str(),
                    image: written,
                    containers: 1,
                }],
            ),
            Ok(None) => denied.push(deny(ImageProblem::NotExempt)),
        }
    }
    // A pod without containers has no images to vouch for it.
    if denied.is_empty() && any_container {
        Ok(exempt)
    } else {
        Err(denied)
    }
}

/// Adds entry uses to a list that holds each entry once. Entries are told apart by
/// address: each is one string in the compiled settings. The list is as long as the number
/// of distinct entries used, so this stays linear in the number of containers.
fn merge_entry_uses<'r>(
    into: &mut Vec<EntryUse<'r>>,
    uses: impl IntoIterator<Item = EntryUse<'r>>,
) {
    for used in uses {
        match into
            .iter_mut()
            .find(|known| std::ptr::eq(known.entry, used.entry))
        {
            Some(known) => known.containers += used.containers,
            None => into.push(used),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ValidationPayload;
    use serde_json::json;

    /// Judges `request` under `settings`, returning the verdict's shape.
    fn verdict(request: serde_json::Value, settings: &str) -> String {
        let payload = serde_json::to_vec(&json!({ "request": request })).unwrap();
        let parsed = ValidationPayload::parse(&payload).unwrap();
        let exemptions = Exemptions::from_json(settings.as_bytes()).unwrap();
        let decision = decide(&parsed.request, &payload, &exemptions);
        match decision.verdict {
            Verdict::Allowed(why) => format!("allowed: {why:?}"),
            Verdict::Exempt(Exemption::Namespace { entry }) => format!("exempt namespace {entry}"),
            Verdict::Exempt(Exemption::Images { entries }) => format!(
                "exempt images {}",
                entries
                    .iter()
                    .map(|e| format!("{}x{}", e.entry, e.containers))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Verdict::Kept { location } => format!("kept {}", location.path()),
            Verdict::Rejected(r) => {
                format!("rejected {} ({} denied)", r.location.path(), r.denied.len())
            }
        }
    }

    fn custom(spec: serde_json::Value) -> serde_json::Value {
        json!({
            "kind": {"group": "example.com", "version": "v1", "kind": "Widget"},
            "namespace": "default", "operation": "CREATE",
            "object": {"metadata": {"name": "w"}, "spec": spec}
        })
    }

    #[test]
    fn a_custom_kind_is_judged_at_every_template_it_carries() {
        let spec = json!({
            "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}]}},
            "jobTemplate": {"spec": {"template": {"spec": {
                "hostNetwork": true, "containers": [{"name": "b", "image": "nginx"}]}}}}
        });
        assert_eq!(
            verdict(custom(spec), "{}"),
            "rejected spec.jobTemplate.spec.template.spec (0 denied)"
        );
    }

    #[test]
    fn a_pod_spec_directly_under_spec_of_a_custom_kind_is_not_its_pod() {
        // Only Pods keep their pod spec at `spec`; a custom kind's `spec.hostNetwork` is not
        // where any controller reads a pod template from.
        let spec = json!({"hostNetwork": true, "containers": [{"name": "a", "image": "nginx"}]});
        assert_eq!(verdict(custom(spec), "{}"), "allowed: NoPodSpec");
    }

    #[test]
    fn a_pod_without_containers_is_not_exempt_by_images() {
        let request = json!({
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "default", "operation": "CREATE",
            "object": {"metadata": {"name": "empty"}, "spec": {"hostNetwork": true}}
        });
        assert_eq!(
            verdict(request, r#"{"exempt_images": ["nginx"]}"#),
            "rejected spec (0 denied)"
        );
    }

    #[test]
    fn entries_are_counted_once_per_entry() {
        let request = json!({
            "kind": {"group": "apps", "version": "v1", "kind": "DaemonSet"},
            "namespace": "default", "operation": "CREATE",
            "object": {"metadata": {"name": "d"}, "spec": {"template": {"spec": {
                "hostNetwork": true,
                "initContainers": [{"name": "i", "image": "quay.io/cilium/cilium:v1"}],
                "containers": [
                    {"name": "a", "image": "quay.io/cilium/cilium:v1"},
                    {"name": "b", "image": "quay.io/cilium/operator:v1"},
                    {"name": "c", "image": "nginx"}
                ]}}}}
        });
        assert_eq!(
            verdict(
                request,
                r#"{"exempt_images": ["quay.io/cilium/*", "nginx"]}"#
            ),
            "exempt images quay.io/cilium/*x3,nginxx1"
        );
    }

    #[test]
    fn a_namespace_exemption_is_checked_before_images() {
        let request = json!({
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": "kube-system", "operation": "CREATE",
            "object": {"metadata": {"name": "p"}, "spec": {"hostNetwork": true,
                "containers": [{"name": "a", "image": "anything:1"}]}}
        });
        assert_eq!(
            verdict(
                request,
                r#"{"exempt_namespaces": ["kube-system"], "exempt_images": ["nginx"]}"#
            ),
            "exempt namespace kube-system"
        );
    }
}
