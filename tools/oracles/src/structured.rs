//! The oracle of the `validate_structured` fuzz target: structured admission requests,
//! built from small look-alike alphabets, against a model of the policy written
//! independently of it.
//!
//! The model, in order:
//! 1. `hostNetwork` written as a string or a number makes the request unreadable: admitted
//!    only for DELETE and CONNECT.
//! 2. DELETE and CONNECT are admitted.
//! 3. Without `hostNetwork: true` where the kind keeps its pod spec, the request is admitted:
//!    the settings are not even read (policy-server checks them when it loads the policy).
//!    Built-in kinds keep it where Kubernetes does; any other kind in `spec.template.spec`
//!    and `spec.jobTemplate.spec.template.spec`.
//! 4. Otherwise, settings that do not read (here: a `short_names` value it does not have)
//!    reject the request. Settings that read but have a refused entry admit no more than the
//!    same settings without it: a refused entry never exempts, and the pod may be rejected
//!    where such an entry could have decided it (the model does not say where).
//! 5. A namespace matched by an entry (`*` is any run of characters; the request's namespace
//!    alone, never the object's `metadata.namespace`, and never the empty one) admits it.
//! 6. So does a pod with at least one container whose every image, image volumes included,
//!    is exempted by a configured entry, according to the hand-written `images` table below;
//!    with `short_names: not-exempt`, an image written without a registry host is exempted
//!    by none. In a template (not a Pod's `spec`), a container image of white space only is
//!    a placeholder and is not judged: it neither exempts nor blocks.
//! 7. So does an UPDATE whose old object has the same pod spec; an old object that is not
//!    a JSON object (an array of the new object's fields, a string, a number, `null`) has
//!    none.
//! 8. Anything else is rejected, with a message.
use arbitrary::Arbitrary;
use serde_json::{json, Map, Value};

const DIGEST_A1: &str = "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const DIGEST_B2: &str = "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

/// `exempt_namespaces` entries, and whether settings validation accepts each.
const NAMESPACE_ENTRIES: &[(&str, bool)] = &[
    ("kube-system", true),
    ("monitoring-*", true),
    ("*-system", true),
    ("team-*-prod", true),
    ("default", true),
    ("*", false),
    ("Kube-System", false),
    ("", false),
];

const NAMESPACES: &[&str] = &[
    "default",
    "networking",
    "kube-system",
    "kube-system-evil",
    "xkube-system",
    "monitoring",
    "monitoring-prod",
    "calico-system",
    "team-a-prod",
    "team-a-prod-2",
    "",
];

/// `exempt_images` entries and whether they are valid.
fn image_entries() -> Vec<(String, bool)> {
    vec![
        ("registry.k8s.io/kube-proxy".into(), true), // 0
        ("docker.io/library/nginx".into(), true),    // 1
        ("quay.io/cilium/*".into(), true),           // 2
        ("quay.io/prometheus/node-exporter:v1.8.*".into(), true), // 3
        ("ghcr.io/acme/**".into(), true),            // 4
        (format!("busybox@{DIGEST_A1}"), true),      // 5
        ("nginx:1.27".into(), true),                 // 6
        ("registry.example.com:5000/agent".into(), true), // 7
        ("*".into(), false),                         // 8
        ("Nginx".into(), false),                     // 9
        ("nginx@sha256:*".into(), false),            // 10
        ("docker.io/library/*".into(), true),        // 11
        (DIGEST_A1.into(), false),                   // 12: an image ID
        ("*.example.com:5000/agent".into(), true),   // 13
        ("docker.io/acme/*".into(), true),           // 14
    ]
}

/// Images, and the entries of `image_entries` that exempt each, worked out by hand from
/// how the container runtime resolves the image.
/// An image as written, the indices of the entries that exempt it when short names are
/// Docker Hub's, and whether it is written without a registry host (a short name, which no
/// entry exempts under `short_names: not-exempt`).
type Image = (String, &'static [usize], bool);

/// An image of white space only, which Kubernetes allows in pod templates alone.
const PLACEHOLDER: &str = " ";

fn images() -> Vec<Image> {
    vec![
        ("registry.k8s.io/kube-proxy:v1.30.2".into(), &[0], false),
        ("REGISTRY.K8S.IO/kube-proxy".into(), &[0], false),
        ("registry.k8s.io/kube-proxy-evil:v1".into(), &[], false),
        ("registry.k8s.io/kube-proxy/evil".into(), &[], false),
        ("registry.k8s.io.evil.com/kube-proxy".into(), &[], false),
        ("registry.k8s.io:443/kube-proxy".into(), &[], false),
        ("nginx".into(), &[1, 11], true),
        ("nginx:1.27".into(), &[1, 6, 11], true),
        ("docker.io/library/nginx:1.27".into(), &[1, 6, 11], false),
        ("library/nginx:1.27".into(), &[1, 6, 11], true),
        // Docker Hub is the lowercase host only: this is the host Docker.io.
        ("Docker.io/nginx:latest".into(), &[], false),
        ("DOCKER.IO/library/nginx".into(), &[], false),
        ("index.docker.io/library/nginx".into(), &[1, 11], false),
        (format!("nginx:1.27@{DIGEST_B2}"), &[1, 11], true),
        // Image IDs, which the runtime resolves among local images.
        (DIGEST_A1.into(), &[], false),
        ("a1a1a1a1".into(), &[], false),
        ("evil/nginx".into(), &[], true),
        ("docker.io/nginx/evil".into(), &[], false),
        ("docker.io:443/library/nginx".into(), &[], false),
        ("NGINX".into(), &[], false),
        (" nginx".into(), &[], false),
        ("quay.io/cilium/cilium:v1.15".into(), &[2], false),
        ("quay.io/cilium/a/b".into(), &[], false),
        ("quay.io/cilium-evil/x".into(), &[], false),
        ("quay.io/c\u{456}lium/cilium".into(), &[], false),
        (
            "quay.io/prometheus/node-exporter:v1.8.2".into(),
            &[3],
            false,
        ),
        (
            format!("quay.io/prometheus/node-exporter:v1.8.2@{DIGEST_B2}"),
            &[],
            false,
        ),
        ("quay.io/prometheus/node-exporter:v1.9.0".into(), &[], false),
        ("quay.io/prometheus/node-exporter".into(), &[], false),
        ("ghcr.io/acme/agent:1".into(), &[4], false),
        ("ghcr.io/acme/a/b/c".into(), &[4], false),
        ("ghcr.io/acme-evil/agent".into(), &[], false),
        (format!("busybox@{DIGEST_A1}"), &[5, 11], true),
        (format!("busybox:1.36@{DIGEST_A1}"), &[5, 11], true),
        (format!("busybox@{DIGEST_B2}"), &[11], true),
        ("busybox:1.36".into(), &[11], true),
        ("registry.example.com:5000/agent:2".into(), &[7, 13], false),
        ("registry.example.com/agent:2".into(), &[], false),
        ("eu.example.com:5000/agent".into(), &[13], false),
        ("evil.eu.example.com:5000/agent".into(), &[], false),
        // `_` is in no label of a registry host: no domain, refused.
        ("a_b.example.com:5000/agent".into(), &[], false),
        // The placeholder of a pod template: neither exempts nor blocks there; in a Pod,
        // an invalid image.
        (PLACEHOLDER.into(), &[], false),
        ("acme/agent:1".into(), &[14], true),
        ("docker.io/acme/agent:1".into(), &[14], false),
        ("".into(), &[], false),
    ]
}

#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    ReplicationController,
    Job,
    CronJob,
    /// Argo Rollout: a custom kind with `spec.template`.
    Rollout,
    /// A custom kind with `spec.jobTemplate`.
    ScheduledWorkload,
    /// A custom kind named like a Pod, whose `spec` is not read.
    ForeignPod,
}

#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum Where {
    /// `spec`
    Spec,
    /// `spec.template.spec`
    Template,
    /// `spec.jobTemplate.spec.template.spec`
    JobTemplate,
}

impl Kind {
    fn gvk(self) -> (&'static str, &'static str) {
        match self {
            Kind::Pod => ("", "Pod"),
            Kind::Deployment => ("apps", "Deployment"),
            Kind::ReplicaSet => ("apps", "ReplicaSet"),
            Kind::StatefulSet => ("apps", "StatefulSet"),
            Kind::DaemonSet => ("apps", "DaemonSet"),
            Kind::ReplicationController => ("", "ReplicationController"),
            Kind::Job => ("batch", "Job"),
            Kind::CronJob => ("batch", "CronJob"),
            Kind::Rollout => ("argoproj.io", "Rollout"),
            Kind::ScheduledWorkload => ("batch.example.com", "ScheduledWorkload"),
            Kind::ForeignPod => ("example.com", "Pod"),
        }
    }

    /// Where the kind keeps its pod spec, as Kubernetes (or the custom kind) defines it.
    fn home(self) -> Where {
        match self {
            Kind::Pod | Kind::ForeignPod => Where::Spec,
            Kind::CronJob | Kind::ScheduledWorkload => Where::JobTemplate,
            _ => Where::Template,
        }
    }

    /// Whether the policy reads a pod spec at `at` for this kind.
    fn reads(self, at: Where) -> bool {
        match self {
            Kind::Pod => at == Where::Spec,
            Kind::CronJob => at == Where::JobTemplate,
            Kind::Rollout | Kind::ScheduledWorkload | Kind::ForeignPod => at != Where::Spec,
            _ => at == Where::Template,
        }
    }
}

#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum HostNetwork {
    Absent,
    Null,
    False,
    True,
    StringTrue,
    One,
}

#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum OldObject {
    None,
    /// The same object: an UPDATE that leaves the pod spec alone.
    Same,
    /// The same object without the host network.
    WithoutHostNetwork,
    /// The new object's fields as an array of pairs.
    ArrayOfFields,
    /// The new object inside an array.
    ArrayOfObject,
    /// The new object as a JSON string.
    Text,
    Number,
    Null,
}

#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum List {
    Containers,
    InitContainers,
    EphemeralContainers,
    /// `volumes[].image.reference`: an image volume.
    ImageVolumes,
}

#[derive(Debug, Arbitrary)]
struct Container {
    list: List,
    /// Index into `images()`; `None` leaves the image out.
    image: Option<u8>,
}

/// The `short_names` setting as written.
#[derive(Debug, Arbitrary, Clone, Copy, PartialEq, Eq)]
enum ShortNames {
    Absent,
    Null,
    DockerHub,
    NotExempt,
    /// A value the setting does not have: the settings do not read.
    Other,
}

#[derive(Debug, Arbitrary)]
pub struct Input {
    kind: Kind,
    /// Where the pod spec is written; the kind's own place unless set.
    misplaced: Option<Where>,
    namespace: u8,
    object_namespace: Option<u8>,
    operation: Operation,
    old: OldObject,
    host_network: HostNetwork,
    containers: Vec<Container>,
    namespace_entries: Option<Vec<u8>>,
    image_entries: Option<Vec<u8>>,
    short_names: ShortNames,
}

fn pick<T: Copy>(items: &[T], index: u8) -> T {
    items[usize::from(index) % items.len()]
}

/// `*` is any run of characters; written without the policy's glob code.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| wildcard(rest, &text[skip..])),
        Some((p, rest)) => text.first() == Some(p) && wildcard(rest, &text[1..]),
    }
}

fn pod_spec(input: &Input, images: &[Image], host_network: HostNetwork) -> Value {
    let mut spec = Map::new();
    match host_network {
        HostNetwork::Absent => {}
        HostNetwork::Null => drop(spec.insert("hostNetwork".into(), Value::Null)),
        HostNetwork::False => drop(spec.insert("hostNetwork".into(), json!(false))),
        HostNetwork::True => drop(spec.insert("hostNetwork".into(), json!(true))),
        HostNetwork::StringTrue => drop(spec.insert("hostNetwork".into(), json!("true"))),
        HostNetwork::One => drop(spec.insert("hostNetwork".into(), json!(1))),
    }
    for (list, key) in [
        (List::Containers, "containers"),
        (List::InitContainers, "initContainers"),
        (List::EphemeralContainers, "ephemeralContainers"),
        (List::ImageVolumes, "volumes"),
    ] {
        let entries: Vec<Value> = input
            .containers
            .iter()
            .enumerate()
            .filter(|(_, c)| c.list == list)
            .map(|(i, c)| {
                let mut holder = Map::new();
                holder.insert("name".into(), json!(format!("c{i}")));
                let image = c.image.map(|image| json!(pick_image(images, image)));
                if list == List::ImageVolumes {
                    let mut source = Map::new();
                    if let Some(image) = image {
                        source.insert("reference".into(), image);
                    }
                    holder.insert("image".into(), Value::Object(source));
                } else if let Some(image) = image {
                    holder.insert("image".into(), image);
                }
                Value::Object(holder)
            })
            .collect();
        if !entries.is_empty() {
            spec.insert(key.into(), Value::Array(entries));
        }
    }
    Value::Object(spec)
}

fn pick_image(images: &[Image], index: u8) -> &str {
    &images[usize::from(index) % images.len()].0
}

fn object(at: Where, namespace: Option<&str>, spec: Value) -> Value {
    let mut metadata = json!({"name": "w"});
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    let template = json!({"metadata": {"labels": {"app": "w"}}, "spec": spec});
    let spec = match at {
        Where::Spec => spec,
        Where::Template => json!({"replicas": 1, "template": template}),
        Where::JobTemplate => {
            json!({"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}})
        }
    };
    json!({"metadata": metadata, "spec": spec})
}

/// The structured input libFuzzer would build from `data`, as `fuzz_target!` builds it.
pub fn check_bytes(data: &[u8]) {
    if let Ok(input) = Input::arbitrary_take_rest(arbitrary::Unstructured::new(data)) {
        check(&input);
    }
}

/// Judges the request `input` describes and compares the verdict with the model.
pub fn check(input: &Input) {
    let images = images();
    let image_entries = image_entries();
    let at = input.misplaced.unwrap_or(input.kind.home());
    let namespace = pick(NAMESPACES, input.namespace);
    let object_namespace = input.object_namespace.map(|i| pick(NAMESPACES, i));

    let new = object(
        at,
        object_namespace,
        pod_spec(input, &images, input.host_network),
    );
    let old = match (input.operation, input.old) {
        (Operation::Update, OldObject::Same) => new.clone(),
        (Operation::Update, OldObject::WithoutHostNetwork) => object(
            at,
            object_namespace,
            pod_spec(input, &images, HostNetwork::False),
        ),
        (Operation::Update, OldObject::ArrayOfFields) => Value::Array(
            new.as_object()
                .into_iter()
                .flatten()
                .map(|(key, value)| json!([key, value]))
                .collect(),
        ),
        (Operation::Update, OldObject::ArrayOfObject) => json!([new.clone()]),
        (Operation::Update, OldObject::Text) => json!(new.to_string()),
        (Operation::Update, OldObject::Number) => json!(1),
        _ => Value::Null,
    };
    let (group, kind) = input.kind.gvk();
    let operation = match input.operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
        Operation::Connect => "CONNECT",
    };
    let request = json!({
        "uid": "00000000-0000-0000-0000-000000000000",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "name": "w",
        "namespace": namespace,
        "operation": operation,
        "object": new,
        "oldObject": old,
    });

    let mut settings = Map::new();
    let mut settings_valid = true;
    let mut namespace_patterns = Vec::new();
    let mut image_patterns = Vec::new();
    if let Some(entries) = &input.namespace_entries {
        let mut listed = Vec::new();
        for &i in entries.iter().take(6) {
            let (entry, valid) = pick(NAMESPACE_ENTRIES, i);
            settings_valid &= valid;
            // A refused entry never exempts: the model counts only those that check.
            if valid {
                namespace_patterns.push(entry);
            }
            listed.push(json!(entry));
        }
        settings.insert("exempt_namespaces".into(), Value::Array(listed));
    }
    if let Some(entries) = &input.image_entries {
        let mut listed = Vec::new();
        for &i in entries.iter().take(6) {
            let index = usize::from(i) % image_entries.len();
            let (entry, valid) = &image_entries[index];
            settings_valid &= *valid;
            if *valid {
                image_patterns.push(index);
            }
            listed.push(json!(entry));
        }
        settings.insert("exempt_images".into(), Value::Array(listed));
    }
    match input.short_names {
        ShortNames::Absent => {}
        ShortNames::Null => drop(settings.insert("short_names".into(), Value::Null)),
        ShortNames::DockerHub => drop(settings.insert("short_names".into(), json!("docker-hub"))),
        ShortNames::NotExempt => drop(settings.insert("short_names".into(), json!("not-exempt"))),
        ShortNames::Other => drop(settings.insert("short_names".into(), json!("crio"))),
    }
    let settings_read = input.short_names != ShortNames::Other;
    settings_valid &= settings_read;
    let settings = Value::Object(settings);

    let payload = json!({"request": request, "settings": settings}).to_string();
    let response = host_network_policy::evaluate(payload.as_bytes());
    assert_eq!(
        host_network_policy::check_settings(settings.to_string().as_bytes()).valid,
        settings_valid,
        "settings {settings}"
    );

    // The model.
    let unreadable = matches!(
        input.host_network,
        HostNetwork::StringTrue | HostNetwork::One
    );
    let delete_or_connect = matches!(input.operation, Operation::Delete | Operation::Connect);
    let on_host_network = input.host_network == HostNetwork::True && input.kind.reads(at);
    let namespace_exempt = !namespace.is_empty()
        && namespace_patterns
            .iter()
            .any(|p| wildcard(p.as_bytes(), namespace.as_bytes()));
    // In a template, a container whose image is the placeholder is not judged at all.
    let judged: Vec<&Container> = input
        .containers
        .iter()
        .filter(|c| {
            let placeholder = c
                .image
                .is_some_and(|i| images[usize::from(i) % images.len()].0 == PLACEHOLDER);
            !(at != Where::Spec && c.list != List::ImageVolumes && placeholder)
        })
        .collect();
    let images_exempt = judged.iter().any(|c| c.list != List::ImageVolumes)
        && judged.iter().all(|c| {
            c.image.is_some_and(|i| {
                let (_, exempted_by, short) = &images[usize::from(i) % images.len()];
                !(*short && input.short_names == ShortNames::NotExempt)
                    && image_patterns.iter().any(|p| exempted_by.contains(p))
            })
        });
    let kept = input.operation == Operation::Update && input.old == OldObject::Same;
    let expected = if unreadable {
        delete_or_connect
    } else if delete_or_connect || !on_host_network {
        true
    } else if !settings_read {
        // Settings that do not read exempt nothing, and are read for this pod.
        false
    } else {
        namespace_exempt || images_exempt || kept
    };

    // With a refused entry (settings policy-server would not serve), a pod on the host
    // network may also be rejected where the entry could have decided it, but it is never
    // admitted where the entries that check would not admit it.
    let consistent = if settings_valid || !on_host_network || unreadable || delete_or_connect {
        response.accepted == expected
    } else {
        !response.accepted || expected
    };
    assert!(
        consistent,
        "model says accepted={expected} (settings valid: {settings_valid}) for {input:?}\npayload: {payload}\nresponse: {:?}",
        response.message
    );
    if !response.accepted {
        assert!(response.message.as_deref().is_some_and(|m| !m.is_empty()));
    }
}
