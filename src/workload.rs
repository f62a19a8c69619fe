//! Where each kind keeps its pod spec, and the borrowed view of an object that reads only
//! what the decision needs.
//!
//! The object is read in one pass, straight from the request bytes, whatever its kind: the
//! SDK's `extract_pod_spec_from_object` clones the object and deserialises every field of
//! the full k8s-openapi type, several times the cost of reading the JSON once.

use std::borrow::Cow;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::Resource;

use crate::view::{json_view, LazyText};

/// A place in an object where a pod spec can live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodSpecLocation {
    /// `spec`: a Pod.
    Spec,
    /// `spec.template.spec`: Deployment and the other controllers, and custom workloads
    /// such as Argo `Rollout` or OpenKruise `CloneSet`.
    Template,
    /// `spec.jobTemplate.spec.template.spec`: CronJob.
    JobTemplate,
}

/// The built-in kinds and where they keep their pod spec, by API group and kind.
const BUILT_IN_KINDS: &[(&str, &str, &[PodSpecLocation])] = &[
    (Pod::GROUP, Pod::KIND, &[PodSpecLocation::Spec]),
    (
        Deployment::GROUP,
        Deployment::KIND,
        &[PodSpecLocation::Template],
    ),
    (
        ReplicaSet::GROUP,
        ReplicaSet::KIND,
        &[PodSpecLocation::Template],
    ),
    (
        StatefulSet::GROUP,
        StatefulSet::KIND,
        &[PodSpecLocation::Template],
    ),
    (
        DaemonSet::GROUP,
        DaemonSet::KIND,
        &[PodSpecLocation::Template],
    ),
    (
        ReplicationController::GROUP,
        ReplicationController::KIND,
        &[PodSpecLocation::Template],
    ),
    (Job::GROUP, Job::KIND, &[PodSpecLocation::Template]),
    (
        CronJob::GROUP,
        CronJob::KIND,
        &[PodSpecLocation::JobTemplate],
    ),
];

/// Any other kind is a custom workload: every template location it carries is checked.
const CUSTOM_KIND_LOCATIONS: &[PodSpecLocation] =
    &[PodSpecLocation::Template, PodSpecLocation::JobTemplate];

impl PodSpecLocation {
    /// Where pod specs can be in an object of this kind.
    pub fn for_kind(group: &str, kind: &str) -> &'static [PodSpecLocation] {
        built_in(group, kind).unwrap_or(CUSTOM_KIND_LOCATIONS)
    }

    /// The keys from the object's `spec` down to the pod spec.
    pub fn keys_below_spec(self) -> &'static [&'static str] {
        match self {
            PodSpecLocation::Spec => &[],
            PodSpecLocation::Template => &["template", "spec"],
            PodSpecLocation::JobTemplate => &["jobTemplate", "spec", "template", "spec"],
        }
    }

    /// Whether this is a pod template, from which controllers create pods, rather than the
    /// pod spec of a Pod.
    pub fn is_template(self) -> bool {
        self != PodSpecLocation::Spec
    }

    /// The field path of the pod spec, as messages print it.
    pub fn path(self) -> &'static str {
        match self {
            PodSpecLocation::Spec => "spec",
            PodSpecLocation::Template => "spec.template.spec",
            PodSpecLocation::JobTemplate => "spec.jobTemplate.spec.template.spec",
        }
    }

    /// The pod spec at this location, if the object has one there.
    pub fn select<'s, 'a>(self, object: &'s WorkloadObject<'a>) -> Option<&'s Spec<'a>> {
        let spec = object.spec.as_ref()?;
        let template = match self {
            PodSpecLocation::Spec => return Some(spec),
            PodSpecLocation::Template => spec.template.as_ref()?,
            PodSpecLocation::JobTemplate => spec
                .job_template
                .as_ref()?
                .spec
                .as_ref()?
                .template
                .as_ref()?,
        };
        template.spec.as_deref()
    }
}

fn built_in(group: &str, kind: &str) -> Option<&'static [PodSpecLocation]> {
    BUILT_IN_KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, locations)| *locations)
}

json_view! {
    /// The parts of an object the policy reads; everything else is skipped unparsed.
    pub struct WorkloadObject<'a> {
        "metadata" => pub metadata: Option<ObjectMeta<'a>>,
        "spec" => pub spec: Option<Spec<'a>>,
    }
}

json_view! {
    pub struct ObjectMeta<'a> {
        "name" => pub name: Option<Cow<'a, str>>,
        "generateName" => pub generate_name: Option<Cow<'a, str>>,
    }
}

json_view! {
    /// Every `spec` the policy meets, read as one shape so that one pass suffices whatever
    /// the kind: the pod fields of a Pod's spec, and the templates of a workload's spec. A pod
    /// spec has no `template` fields and a workload spec no pod fields, so neither gets in the
    /// way.
    pub struct Spec<'a> {
        "hostNetwork" => pub host_network: Option<bool>,
        "containers" => pub containers: Option<Vec<Container<'a>>>,
        "initContainers" => pub init_containers: Option<Vec<Container<'a>>>,
        "ephemeralContainers" => pub ephemeral_containers: Option<Vec<Container<'a>>>,
        "volumes" => pub volumes: Option<Vec<Volume<'a>>>,
        "template" => pub template: Option<PodTemplate<'a>>,
        "jobTemplate" => pub job_template: Option<JobTemplate<'a>>,
    }
}

json_view! {
    pub struct PodTemplate<'a> {
        "spec" => pub spec: Option<Box<Spec<'a>>>,
    }
}

json_view! {
    pub struct JobTemplate<'a> {
        "spec" => pub spec: Option<JobSpec<'a>>,
    }
}

json_view! {
    pub struct JobSpec<'a> {
        "template" => pub template: Option<PodTemplate<'a>>,
    }
}

json_view! {
    pub struct Container<'a> {
        "name" => pub name: Option<LazyText<'a>>,
        "image" => pub image: Option<LazyText<'a>>,
    }
}

json_view! {
    /// A volume of the pod; only image volumes name an image.
    pub struct Volume<'a> {
        "name" => pub name: Option<LazyText<'a>>,
        "image" => pub image: Option<ImageVolumeSource<'a>>,
    }
}

json_view! {
    pub struct ImageVolumeSource<'a> {
        "reference" => pub reference: Option<LazyText<'a>>,
    }
}

/// Every field of a pod spec that names an image the node pulls, with the Kubernetes
/// version that added it. A pod is exempt by its images only if each of them is: an image
/// the policy does not know of would ride along with exempt ones. When Kubernetes adds
/// another, it becomes a variant here, a row of [`ImageField::ALL`], and a step of
/// [`Spec::images`]; the README lists [`ImageField::path`] of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageField {
    /// `containers[].image`: Kubernetes 1.0.
    Containers,
    /// `initContainers[].image`: 1.6 (sidecar containers are init containers, 1.28).
    InitContainers,
    /// `ephemeralContainers[].image`: 1.16, GA in 1.25; what `kubectl debug` adds.
    EphemeralContainers,
    /// `volumes[].image.reference`: 1.31, on by default since 1.35. The kubelet pulls the
    /// image and mounts its files into the containers, executables included.
    ImageVolumes,
}

impl ImageField {
    /// Every field, for the tests that check the README and the walk name each.
    #[cfg(any(test, feature = "test-support"))]
    pub const ALL: [ImageField; 4] = [
        ImageField::Containers,
        ImageField::InitContainers,
        ImageField::EphemeralContainers,
        ImageField::ImageVolumes,
    ];

    /// Where in the pod spec the image is written.
    #[cfg(any(test, feature = "test-support"))]
    pub fn path(self) -> &'static str {
        match self {
            ImageField::Containers => "containers[].image",
            ImageField::InitContainers => "initContainers[].image",
            ImageField::EphemeralContainers => "ephemeralContainers[].image",
            ImageField::ImageVolumes => "volumes[].image.reference",
        }
    }

    /// What holds the image, as messages name it: `container "app"`, `volume "tools"`.
    pub fn holder(self) -> &'static str {
        match self {
            ImageField::Containers => "container",
            ImageField::InitContainers => "initContainer",
            ImageField::EphemeralContainers => "ephemeralContainer",
            ImageField::ImageVolumes => "volume",
        }
    }

    /// Whether the holder is a container, which runs; a pod needs one to be exempt.
    pub fn is_container(self) -> bool {
        self != ImageField::ImageVolumes
    }
}

/// One image a pod spec names, with what holds it.
#[derive(Debug, Clone, Copy)]
pub struct PodImage<'s, 'a> {
    pub field: ImageField,
    /// The container's or volume's name.
    pub holder: Option<&'s LazyText<'a>>,
    /// The image as written; `None` when the holder names none.
    pub image: Option<&'s LazyText<'a>>,
}

/// The image-bearing lists of one pod spec.
#[derive(Debug, Clone, Copy)]
pub struct PodImages<'s, 'a> {
    containers: &'s [Container<'a>],
    init_containers: &'s [Container<'a>],
    ephemeral_containers: &'s [Container<'a>],
    volumes: &'s [Volume<'a>],
}

impl<'a> Spec<'a> {
    pub fn uses_host_network(&self) -> bool {
        self.host_network == Some(true)
    }

    /// The lists that name images; absent and `null` lists are empty.
    ///
    /// They are read in the same pass as the rest of the request, although only a pod on
    /// the host network needs them: `hostNetwork` comes after them in the API server's
    /// encoding, and keeping them raw to read them later would read them twice for every
    /// pod on the host network.
    pub fn images(&self) -> PodImages<'_, 'a> {
        PodImages {
            containers: self.containers.as_deref().unwrap_or_default(),
            init_containers: self.init_containers.as_deref().unwrap_or_default(),
            ephemeral_containers: self.ephemeral_containers.as_deref().unwrap_or_default(),
            volumes: self.volumes.as_deref().unwrap_or_default(),
        }
    }
}

impl<'s, 'a> PodImages<'s, 'a> {
    /// Every image of the pod, in the order of [`ImageField::ALL`]: those of every
    /// container, init and ephemeral ones included, then those of image volumes.
    pub fn iter(self) -> impl Iterator<Item = PodImage<'s, 'a>> {
        let image_volumes = self.volumes.iter().filter_map(|volume| {
            // Other volumes (`image` absent or null) name no image.
            let source = volume.image.as_ref()?;
            Some(PodImage {
                field: ImageField::ImageVolumes,
                holder: volume.name.as_ref(),
                image: source.reference.as_ref(),
            })
        });
        container_images(ImageField::Containers, self.containers)
            .chain(container_images(
                ImageField::InitContainers,
                self.init_containers,
            ))
            .chain(container_images(
                ImageField::EphemeralContainers,
                self.ephemeral_containers,
            ))
            .chain(image_volumes)
    }
}

fn container_images<'s, 'a>(
    field: ImageField,
    list: &'s [Container<'a>],
) -> impl Iterator<Item = PodImage<'s, 'a>> {
    list.iter().map(move |container| PodImage {
        field,
        holder: container.name.as_ref(),
        image: container.image.as_ref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_path_is_the_path_the_keys_walk() {
        for location in [
            PodSpecLocation::Spec,
            PodSpecLocation::Template,
            PodSpecLocation::JobTemplate,
        ] {
            let walked: Vec<&str> = std::iter::once("spec")
                .chain(location.keys_below_spec().iter().copied())
                .collect();
            assert_eq!(walked.join("."), location.path());
        }
    }
}
