//! Where each kind keeps its pod spec, and the borrowed view of an object that reads only
//! what the decision needs.
//!
//! The object is read in one pass, straight from the request bytes, whatever its kind: the
//! SDK's `extract_pod_spec_from_object` clones the object and deserialises every field of
//! the full k8s-openapi type, several times the cost of reading the JSON once.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, ReplicationController};
use k8s_openapi::Resource;
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

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

    /// Whether the kind is one of the built-in workloads.
    pub fn is_built_in(group: &str, kind: &str) -> bool {
        built_in(group, kind).is_some()
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
        let spec = &object.spec.as_ref()?.0;
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
        template.spec.as_ref().map(|spec| &*spec.0)
    }
}

fn built_in(group: &str, kind: &str) -> Option<&'static [PodSpecLocation]> {
    BUILT_IN_KINDS
        .iter()
        .find(|(g, k, _)| *g == group && *k == kind)
        .map(|(_, _, locations)| *locations)
}

/// The parts of an object the policy reads; everything else is skipped unparsed.
#[derive(Debug, Default, Deserialize)]
pub struct WorkloadObject<'a> {
    #[serde(borrow, default)]
    pub metadata: Option<ObjectMeta<'a>>,
    #[serde(borrow, default)]
    pub spec: Option<ObjectOnly<Spec<'a>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub generate_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
}

/// Every `spec` the policy meets, read as one shape so that one pass suffices whatever the
/// kind: the pod fields of a Pod's spec, and the templates of a workload's spec. A pod spec
/// has no `template` fields and a workload spec no pod fields, so neither gets in the way.
///
/// Duplicate keys are refused by serde, so `"hostNetwork": false, "hostNetwork": true`
/// cannot make the policy see the first value while the API server keeps the last.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Spec<'a> {
    #[serde(default)]
    pub host_network: Option<bool>,
    #[serde(borrow, default)]
    pub containers: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    pub init_containers: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    pub ephemeral_containers: Option<Vec<Container<'a>>>,
    #[serde(borrow, default)]
    pub template: Option<PodTemplate<'a>>,
    #[serde(borrow, default)]
    pub job_template: Option<JobTemplate<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct PodTemplate<'a> {
    #[serde(borrow, default)]
    pub spec: Option<ObjectOnly<Box<Spec<'a>>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct JobTemplate<'a> {
    #[serde(borrow, default)]
    pub spec: Option<JobSpec<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct JobSpec<'a> {
    #[serde(borrow, default)]
    pub template: Option<PodTemplate<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Container<'a> {
    #[serde(borrow, default)]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub image: Option<Cow<'a, str>>,
}

/// The three lists of a pod spec that hold containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    Containers,
    InitContainers,
    EphemeralContainers,
}

impl ContainerList {
    pub fn field(self) -> &'static str {
        match self {
            ContainerList::Containers => "containers",
            ContainerList::InitContainers => "initContainers",
            ContainerList::EphemeralContainers => "ephemeralContainers",
        }
    }
}

impl<'a> Spec<'a> {
    pub fn uses_host_network(&self) -> bool {
        self.host_network == Some(true)
    }

    /// Every container of the pod, init and ephemeral ones included: an exemption must hold
    /// for all of them, or an injected sidecar would ride along.
    pub fn all_containers(&self) -> impl Iterator<Item = (ContainerList, &Container<'a>)> + '_ {
        [
            (ContainerList::Containers, &self.containers),
            (ContainerList::InitContainers, &self.init_containers),
            (
                ContainerList::EphemeralContainers,
                &self.ephemeral_containers,
            ),
        ]
        .into_iter()
        .flat_map(|(which, list)| list.iter().flatten().map(move |c| (which, c)))
    }
}

/// Serde accepts a struct written as a JSON array of its fields. Kubernetes never writes
/// objects that way, so where an object belongs an array is an error, and the request is
/// rejected as unreadable instead of being read as an empty object.
#[derive(Debug, Default)]
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for MapVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(MapVisitor(PhantomData))
            .map(ObjectOnly)
    }
}
