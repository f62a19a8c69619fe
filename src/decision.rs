//! The decision: a pure function from the request and the exemptions to a verdict.
//! No I/O and no waPC here, so every rule is unit-tested natively.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::entries::EntryError;
use crate::image::{ImageExemptions, ImageVerdict};
use crate::limits::{LISTED_DENIED_IMAGES, MAX_DISTINCT_IMAGES};
use crate::request::{creates_no_pod, AdmissionRequest};
use crate::settings::{Exemptions, LazyExemptions, SettingsError};
use crate::update::pod_spec_unchanged;
use crate::view::LazyText;
use crate::workload::{ImageField, PodImages, PodSpecLocation};

/// Who the request is about, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject<'r> {
    pub kind: &'r str,
    pub namespace: &'r str,
    pub name: Cow<'r, str>,
}

/// Why a request was let through without a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AllowedBecause {
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
    /// How many images of the pod it exempted, image volumes included.
    pub images: usize,
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
    /// Written without a registry host under `short_names: not-exempt`.
    ShortName,
    Missing,
    Invalid(String),
    /// Not judged: the pod names more than [`MAX_DISTINCT_IMAGES`] distinct images.
    NotChecked,
}

/// An image that keeps the pod from being exempt, with the container or volume naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedImage<'r> {
    pub field: ImageField,
    /// The name of the container or volume.
    pub holder: &'r str,
    pub image: &'r str,
    pub problem: ImageProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection<'r> {
    /// Where the offending `hostNetwork: true` is.
    pub location: PodSpecLocation,
    /// Whether any image exemptions are configured; if not, there are no images to list.
    pub images_configured: bool,
    /// Whether the request adds a debug container (`kubectl debug`) to a running pod, whose
    /// `hostNetwork` the user cannot change.
    pub debug_container: bool,
    /// The images that are not exempt.
    pub denied: Denied<'r>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'r> {
    Allowed(AllowedBecause),
    Exempt(Exemption<'r>),
    /// An UPDATE that leaves an existing host-network pod spec untouched.
    KeptOnUpdate {
        location: PodSpecLocation,
    },
    Rejected(Rejection<'r>),
    /// A pod spec uses the host network, and the settings cannot be read or an entry that
    /// would decide the pod is refused: rejected, as nothing can be exempted on them.
    Misconfigured(SettingsError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'r> {
    pub subject: Subject<'r>,
    pub verdict: Verdict<'r>,
}

/// Judges one admission request. `payload` is the request's own bytes, read again only
/// for an UPDATE that would be rejected, to see whether the pod spec changed. The settings
/// are read only if a pod spec uses the host network.
pub fn decide<'r>(
    request: &'r AdmissionRequest<'r>,
    payload: &[u8],
    exemptions: &'r LazyExemptions<'_>,
) -> Decision<'r> {
    let subject = Subject {
        kind: &request.kind.kind,
        namespace: request.namespace(),
        name: request.name(),
    };
    let verdict = verdict_for(request, payload, exemptions, subject.namespace);
    Decision { subject, verdict }
}

fn verdict_for<'r>(
    request: &'r AdmissionRequest<'r>,
    payload: &[u8],
    exemptions: &'r LazyExemptions<'_>,
    namespace: &'r str,
) -> Verdict<'r> {
    if creates_no_pod(&request.operation) {
        return Verdict::Allowed(AllowedBecause::Operation);
    }
    let Some(object) = &request.object else {
        return Verdict::Allowed(AllowedBecause::NoPodSpec);
    };
    let mut found_pod_spec = false;
    let mut on_host_network: Vec<(PodSpecLocation, PodImages<'r, 'r>)> = Vec::new();
    for &location in PodSpecLocation::for_kind(&request.kind.group, &request.kind.kind) {
        if let Some(spec) = location.select(object) {
            found_pod_spec = true;
            if spec.uses_host_network() {
                on_host_network.push((location, spec.images()));
            }
        }
    }
    if on_host_network.is_empty() {
        return Verdict::Allowed(if found_pod_spec {
            AllowedBecause::NoHostNetwork
        } else {
            AllowedBecause::NoPodSpec
        });
    }
    let exemptions = match exemptions.get() {
        Ok(exemptions) => exemptions,
        Err(error) => return Verdict::Misconfigured(error.clone()),
    };
    match exemptions.namespaces.find(namespace) {
        Ok(Some(entry)) => return Verdict::Exempt(Exemption::Namespace { entry }),
        Ok(None) => {}
        Err(error) => return Verdict::Misconfigured(error.into()),
    }

    let mut entries = Vec::new();
    let mut rejections = Vec::new();
    for (location, images) in on_host_network {
        match check_images(images, exemptions, location.is_template()) {
            Err(error) => return Verdict::Misconfigured(error.into()),
            Ok(PodImagesVerdict::Exempt(used)) => merge_entry_uses(&mut entries, used),
            Ok(PodImagesVerdict::Denied(denied)) => rejections.push(Rejection {
                location,
                images_configured: !exemptions.images.is_empty(),
                debug_container: request.adds_debug_container(),
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
        return Verdict::KeptOnUpdate {
            location: first.location,
        };
    }
    Verdict::Rejected(first)
}

/// The containers that keep a pod from being exempt: the first few described, all counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Denied<'r> {
    /// The first [`LISTED_DENIED_IMAGES`], in pod order.
    pub listed: Vec<DeniedImage<'r>>,
    /// All of them, listed or not.
    pub total: usize,
}

/// What the images of one pod spec make of it.
#[derive(Debug)]
enum PodImagesVerdict<'r> {
    /// Every image is exempt: by these entries.
    Exempt(Vec<EntryUse<'r>>),
    /// These keep the pod from being exempt.
    Denied(Denied<'r>),
}

/// The pod is exempt through its images only if every one of them is, image volumes
/// included: one image that is not, or is missing or unreadable, and the pod is judged like
/// any other. The error is a refused entry that would have judged an image.
///
/// In a template (`in_template`), a container image of only white space is a placeholder
/// that neither exempts nor blocks: Kubernetes validation lets a pod template, and only a
/// pod template, hold one (OpenShift image triggers fill it in later, by an update that is
/// judged like any change), and no pod can be created with it as it is.
fn check_images<'r>(
    pod_images: PodImages<'r, 'r>,
    exemptions: &'r Exemptions<'_>,
    in_template: bool,
) -> Result<PodImagesVerdict<'r>, EntryError> {
    let images = &exemptions.images;
    if images.is_empty() {
        return Ok(PodImagesVerdict::Denied(Denied::default()));
    }
    let mut exempt = EntryTally::default();
    let mut denied = Denied::default();
    let mut any_container = false;
    let mut distinct = DistinctImages::of(pod_images);
    for pod_image in pod_images.iter() {
        let written: &'r [u8] = pod_image.image.map_or(&[][..], |text| &text.0);
        if in_template && pod_image.field.is_container() && is_placeholder(written) {
            continue;
        }
        any_container |= pod_image.field.is_container();
        let problem = if written.is_empty() {
            ImageProblem::Missing
        } else {
            match distinct.verdict(written, images)? {
                // Past the bound: not judged, so not exempt.
                None => ImageProblem::NotChecked,
                Some(ImageVerdict::Exempt { index, entry }) => {
                    exempt.add(index, entry, || text(pod_image.image));
                    continue;
                }
                Some(ImageVerdict::NotExempt) => ImageProblem::NotExempt,
                Some(ImageVerdict::ShortName) => ImageProblem::ShortName,
                // Text that is not UTF-8 cannot be an image; it is reported as missing.
                Some(ImageVerdict::NotText) => ImageProblem::Missing,
                Some(ImageVerdict::Invalid(e)) => ImageProblem::Invalid(e.to_string()),
            }
        };
        denied.total += 1;
        if denied.listed.len() < LISTED_DENIED_IMAGES {
            denied.listed.push(DeniedImage {
                field: pod_image.field,
                holder: text(pod_image.holder),
                image: text(pod_image.image),
                problem,
            });
        }
    }
    // A pod without containers has no images to vouch for it.
    Ok(if denied.total == 0 && any_container {
        PodImagesVerdict::Exempt(exempt.uses)
    } else {
        PodImagesVerdict::Denied(denied)
    })
}

/// The verdicts on a pod's images, each distinct image judged once, and no more than
/// [`MAX_DISTINCT_IMAGES`] of them. Pods repeat images (replicas of a sidecar, every
/// container of a fleet). std's keyed hash, since the images come from the request and a
/// hash they could collide would make every look-up a scan; its key costs a host call, so a
/// pod of one image does without.
struct DistinctImages<'r> {
    judged: Option<HashMap<&'r [u8], ImageVerdict<'r>>>,
}

impl<'r> DistinctImages<'r> {
    fn of(pod_images: PodImages<'r, 'r>) -> Self {
        DistinctImages {
            judged: pod_images.iter().nth(1).is_some().then(HashMap::new),
        }
    }

    /// The verdict on the image written as `written`; `None` once the pod has named more
    /// distinct images than are judged.
    fn verdict(
        &mut self,
        written: &'r [u8],
        images: &'r ImageExemptions<'_>,
    ) -> Result<Option<ImageVerdict<'r>>, EntryError> {
        let Some(judged) = self.judged.as_mut() else {
            return images.verdict(written).map(Some);
        };
        let full = judged.len() >= MAX_DISTINCT_IMAGES;
        Ok(match judged.entry(written) {
            Entry::Occupied(known) => Some(known.get().clone()),
            Entry::Vacant(_) if full => None,
            Entry::Vacant(slot) => Some(slot.insert(images.verdict(written)?).clone()),
        })
    }
}

/// The entries that exempt one pod spec's containers, each once, in the order first used.
/// Entries are found by their index in the settings, so counting a container is one step
/// however many entries there are (a scan of the list per container showed up on pods of
/// hundreds of containers).
#[derive(Default)]
struct EntryTally<'r> {
    uses: Vec<EntryUse<'r>>,
    /// Where each entry sits in `uses`, by entry index; sized on first use.
    position_of_entry: Vec<Option<usize>>,
}

impl<'r> EntryTally<'r> {
    /// Counts one container exempted by the entry at `index`; `image` names it if it is
    /// the entry's first.
    fn add(&mut self, index: usize, entry: &'r str, image: impl FnOnce() -> &'r str) {
        if self.position_of_entry.len() <= index {
            self.position_of_entry.resize(index + 1, None);
        }
        let Some(slot) = self.position_of_entry.get_mut(index) else {
            return;
        };
        match slot {
            Some(position) => {
                if let Some(known) = self.uses.get_mut(*position) {
                    known.images += 1;
                }
            }
            None => {
                *slot = Some(self.uses.len());
                self.uses.push(EntryUse {
                    entry,
                    image: image(),
                    images: 1,
                });
            }
        }
    }
}

/// An image of white space only, as Go's `strings.TrimSpace` (Unicode White_Space) reads
/// it: the placeholder of a pod template. Asked of every container image of a template, so
/// an image that starts as every reference does, with a letter or digit, is told apart by
/// its first byte, before any UTF-8 is checked.
fn is_placeholder(image: &[u8]) -> bool {
    image
        .first()
        .is_some_and(|first| !first.is_ascii_alphanumeric())
        && std::str::from_utf8(image).is_ok_and(|text| text.chars().all(char::is_whitespace))
}

/// Text read from the pod, or empty when it is absent or not UTF-8.
fn text<'r>(field: Option<&'r LazyText<'r>>) -> &'r str {
    field.and_then(LazyText::text).unwrap_or_default()
}

/// Adds entry uses to a list that holds each entry once. Entries are told apart by
/// address: each is one string in the settings. The lists are as long as the
/// number of distinct entries used by one pod, and this runs once per pod spec.
fn merge_entry_uses<'r>(
    into: &mut Vec<EntryUse<'r>>,
    uses: impl IntoIterator<Item = EntryUse<'r>>,
) {
    for used in uses {
        match into
            .iter_mut()
            .find(|known| std::ptr::eq(known.entry, used.entry))
        {
            Some(known) => known.images += used.images,
            None => into.push(used),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ValidationPayload;
    use serde_json::json;

    /// Decides `request` under `settings` and hands the verdict to `inspect`: the verdict
    /// borrows from the payload and the settings, which live only for this call.
    fn decided<T>(
        request: serde_json::Value,
        settings: &str,
        inspect: impl FnOnce(Verdict<'_>) -> T,
    ) -> T {
        let payload = serde_json::to_vec(&json!({ "request": request })).unwrap();
        let parsed = ValidationPayload::parse(&payload).unwrap();
        let exemptions = LazyExemptions::new(settings.as_bytes());
        inspect(decide(&parsed.request, &payload, &exemptions).verdict)
    }

    /// Judges `request` under `settings`, returning the verdict's shape.
    fn verdict(request: serde_json::Value, settings: &str) -> String {
        decided(request, settings, |verdict| match verdict {
            Verdict::Allowed(why) => format!("allowed: {why:?}"),
            Verdict::Exempt(Exemption::Namespace { entry }) => format!("exempt namespace {entry}"),
            Verdict::Exempt(Exemption::Images { entries }) => format!(
                "exempt images {}",
                entries
                    .iter()
                    .map(|e| format!("{}x{}", e.entry, e.images))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            Verdict::KeptOnUpdate { location } => format!("kept {}", location.path()),
            Verdict::Rejected(r) => {
                format!("rejected {} ({} denied)", r.location.path(), r.denied.total)
            }
            Verdict::Misconfigured(e) => format!("misconfigured: {e}"),
        })
    }

    fn custom(spec: serde_json::Value) -> serde_json::Value {
        json!({
            "kind": {"group": "example.com", "version": "v1", "kind": "Widget"},
            "namespace": "default", "operation": "CREATE",
            "object": {"metadata": {"name": "w"}, "spec": spec}
        })
    }

    /// A CREATE of Pod `p` in `namespace` with this spec.
    fn pod(namespace: &str, spec: serde_json::Value) -> serde_json::Value {
        json!({
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": namespace, "operation": "CREATE",
            "object": {"metadata": {"name": "p"}, "spec": spec}
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
        let request = pod("default", json!({"hostNetwork": true}));
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
    fn entries_are_listed_in_the_order_the_pod_first_uses_them() {
        let request = pod(
            "default",
            json!({"hostNetwork": true, "containers": [
                {"name": "a", "image": "nginx"},
                {"name": "b", "image": "quay.io/cilium/cilium:v1"},
                {"name": "c", "image": "nginx:1.27"}
            ]}),
        );
        assert_eq!(
            verdict(
                request,
                r#"{"exempt_images": ["quay.io/cilium/*", "nginx"]}"#
            ),
            "exempt images nginxx2,quay.io/cilium/*x1"
        );
    }

    #[test]
    fn denied_images_are_all_counted_and_the_first_ten_described() {
        let containers: Vec<serde_json::Value> = (0..12)
            .map(|i| json!({"name": format!("c{i}"), "image": format!("app{i}:1")}))
            .collect();
        let request = pod(
            "default",
            json!({"hostNetwork": true,
                "initContainers": [{"name": "init", "image": "nginx"}],
                "containers": containers}),
        );
        let (total, described) = decided(request, r#"{"exempt_images": ["nginx"]}"#, |verdict| {
            let Verdict::Rejected(rejection) = verdict else {
                panic!("not rejected: {verdict:?}");
            };
            let described: Vec<String> = rejection
                .denied
                .listed
                .iter()
                .map(|d| d.holder.to_owned())
                .collect();
            (rejection.denied.total, described)
        });
        assert_eq!(total, 12);
        assert_eq!(
            described,
            ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"]
        );
    }

    #[rstest::rstest]
    #[case::volume_not_exempt(
        json!([{"name": "tools", "image": {"reference": "docker.io/attacker/toolbox:1.0"}}]),
        "rejected spec (1 denied)"
    )]
    #[case::volume_without_reference(json!([{"name": "tools", "image": {}}]), "rejected spec (1 denied)")]
    #[case::volume_exempt(
        json!([{"name": "tools", "image": {"reference": "nginx:1.27"}}]),
        "exempt images nginxx2"
    )]
    #[case::other_volumes_name_no_image(
        json!([{"name": "config", "configMap": {"name": "c"}}, {"name": "x", "image": null}]),
        "exempt images nginxx1"
    )]
    fn image_volumes_count_as_images_of_the_pod(
        #[case] volumes: serde_json::Value,
        #[case] expected: &str,
    ) {
        let request = pod(
            "default",
            json!({"hostNetwork": true, "containers": [{"name": "a", "image": "nginx"}],
                "volumes": volumes}),
        );
        assert_eq!(
            verdict(request, r#"{"exempt_images": ["nginx"]}"#),
            expected
        );
    }

    /// A DaemonSet whose containers are `name`d with `images`, under `nginx` exempt.
    fn daemonset_with_images(images: &[&str]) -> serde_json::Value {
        let containers: Vec<serde_json::Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
            .collect();
        json!({
            "kind": {"group": "apps", "version": "v1", "kind": "DaemonSet"},
            "namespace": "default", "operation": "CREATE",
            "object": {"metadata": {"name": "d"}, "spec": {"template": {"spec": {
                "hostNetwork": true, "containers": containers}}}}
        })
    }

    #[rstest::rstest]
    #[case::space_beside_exempt(&["nginx", " "], "exempt images nginxx1")]
    #[case::tab_and_newline_beside_exempt(&["\t\n", "nginx"], "exempt images nginxx1")]
    #[case::no_break_space_beside_exempt(&["nginx", "\u{a0}"], "exempt images nginxx1")]
    #[case::space_beside_not_exempt(&[" ", "evil/toolbox"], "rejected spec.template.spec (1 denied)")]
    #[case::only_a_placeholder(&[" "], "rejected spec.template.spec (0 denied)")]
    #[case::padded_image_is_no_placeholder(&["nginx", " nginx"], "rejected spec.template.spec (1 denied)")]
    #[case::empty_is_no_placeholder(&["nginx", ""], "rejected spec.template.spec (1 denied)")]
    fn a_white_space_image_in_a_template_neither_exempts_nor_blocks(
        #[case] images: &[&str],
        #[case] expected: &str,
    ) {
        assert_eq!(
            verdict(
                daemonset_with_images(images),
                r#"{"exempt_images": ["nginx"]}"#
            ),
            expected
        );
    }

    #[test]
    fn a_white_space_image_in_a_pod_blocks_its_exemption() {
        let request = pod(
            "default",
            json!({"hostNetwork": true, "containers": [
                {"name": "a", "image": "nginx"}, {"name": "b", "image": " "}]}),
        );
        assert_eq!(
            verdict(request, r#"{"exempt_images": ["nginx"]}"#),
            "rejected spec (1 denied)"
        );
    }

    #[test]
    fn image_volumes_alone_do_not_exempt_a_pod_without_containers() {
        let request = pod(
            "default",
            json!({"hostNetwork": true,
                "volumes": [{"name": "tools", "image": {"reference": "nginx"}}]}),
        );
        assert_eq!(
            verdict(request, r#"{"exempt_images": ["nginx"]}"#),
            "rejected spec (0 denied)"
        );
    }

    /// The settings are read only for a pod on the host network. Settings that cannot be
    /// read, or an entry that would decide the pod and is refused, reject it.
    #[rstest::rstest]
    #[case::unreadable(json!({"hostNetwork": true}), r#"{"exempt_images": "nginx"}"#, "misconfigured")]
    #[case::refused_entry(json!({"hostNetwork": true, "containers": [{"name": "a", "image": "nginx"}]}), r#"{"exempt_images": ["*"]}"#, "misconfigured")]
    #[case::no_host_network(json!({"hostNetwork": false}), r#"{"exempt_images": "nginx"}"#, "allowed: NoHostNetwork")]
    #[case::no_host_network_refused_entry(json!({"hostNetwork": false}), r#"{"exempt_images": ["*"]}"#, "allowed: NoHostNetwork")]
    fn settings_are_read_only_for_a_pod_on_the_host_network(
        #[case] spec: serde_json::Value,
        #[case] settings: &str,
        #[case] expected: &str,
    ) {
        let answer = verdict(pod("default", spec), settings);
        assert!(answer.starts_with(expected), "{answer}");
    }

    /// An entry is checked where it could decide an image: a refused entry for another
    /// registry neither exempts nor stands in the way; one for the image's registry rejects
    /// the pod even when a later entry would exempt it.
    #[test]
    fn entries_are_checked_where_they_could_decide() {
        let pod_of = |image: &str| {
            pod(
                "default",
                json!({"hostNetwork": true, "containers": [{"name": "a", "image": image}]}),
            )
        };
        let settings = r#"{"exempt_images": ["quay.io/Bad", "nginx"]}"#;
        assert!(verdict(pod_of("nginx:1.27"), settings).starts_with("exempt images"));
        assert!(verdict(pod_of("quay.io/cilium/cilium"), settings).starts_with("misconfigured"));
    }

    #[test]
    fn a_namespace_exemption_is_checked_before_images() {
        let request = pod(
            "kube-system",
            json!({"hostNetwork": true, "containers": [{"name": "a", "image": "anything:1"}]}),
        );
        assert_eq!(
            verdict(
                request,
                r#"{"exempt_namespaces": ["kube-system"], "exempt_images": ["nginx"]}"#
            ),
            "exempt namespace kube-system"
        );
    }
}
