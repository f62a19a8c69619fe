//! Properties of the policy over generated inputs: image normalisation is idempotent, spellings
//! of one image share a verdict, the verdict is monotonic in containers, `hostNetwork` and
//! exemptions, `*` never crosses `/`, and no input makes the policy panic or let an
//! unexempted host-network pod through.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use host_network_policy::{check_settings, evaluate};
use host_network_policy::{ImagePattern, ImageRef};
use kubewarden_policy_sdk::response::ValidationResponse;
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Map, Value};

const DIGEST_A1: &str = "sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const DIGEST_B2: &str = "sha256:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";

/// Namespace entries the generated settings pick from.
const NAMESPACE_ENTRIES: &[&str] = &[
    "kube-system",
    "monitoring-*",
    "*-system",
    "team-*-prod",
    "default",
];

/// Namespaces the generated requests live in: exempt ones and their look-alikes.
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
];

/// Image entries the generated settings pick from.
fn image_entries() -> Vec<String> {
    vec![
        "registry.k8s.io/kube-proxy".into(),
        "docker.io/library/nginx".into(),
        "nginx:1.27".into(),
        "quay.io/cilium/*".into(),
        "quay.io/prometheus/node-exporter:v1.8.*".into(),
        "ghcr.io/acme/**".into(),
        format!("busybox@{DIGEST_A1}"),
        "*.k8s.io/pause".into(),
        "docker.io/*/nginx".into(),
        "ghcr.io/**/agent".into(),
        "localhost:5000/kube-proxy".into(),
    ]
}

/// Images that no entry of [`image_entries`] exempts, by reading each entry: other
/// repositories, registries, ports, segment counts and digests than any entry names.
const NEVER_EXEMPT: &[&str] = &[
    "docker.io/attacker/toolbox:1.0",
    "registry.k8s.io/kube-proxy-evil:v1.30.2",
    "registry.k8s.io/kube-proxy/evil:v1",
    "registry.k8s.io.evil.com/kube-proxy:v1",
    "registry.k8s.io:443/kube-proxy:v1",
    "Registry.K8s.IO.Evil.com/kube-proxy",
    "docker.io/nginx/evil",
    "quay.io/cilium/a/b",
    "quay.io/cilium-evil/x",
    "ghcr.io/acme-evil/tool",
    "quay.io/prometheus/node-exporter:v1.9.0",
    "busybox:1.36",
    "Docker.io/nginx:1.27",
    "DOCKER.IO/library/nginx",
    "evil.eu.k8s.io/pause",
    // No domain: `_` is in no label of a registry host.
    "a_b.k8s.io/pause",
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    "0123abcd",
    "NGINX",
    " nginx",
    "",
];

/// The look-alike alphabet the generated pods draw their images from.
fn images() -> Vec<String> {
    let mut images: Vec<String> = NEVER_EXEMPT.iter().map(|s| (*s).to_owned()).collect();
    images.extend(
        [
            "nginx",
            "nginx:1.27",
            "evil/nginx:1.27",
            "Docker.io/nginx:latest",
            "index.docker.io/library/nginx",
            "registry.k8s.io/kube-proxy:v1.30.2",
            "REGISTRY.k8s.io/kube-proxy",
            "quay.io/cilium/cilium:v1.15.1",
            "quay.io/prometheus/node-exporter:v1.8.2",
            "ghcr.io/acme/agent:2",
            "ghcr.io/acme/a/b/agent",
            "eu.k8s.io/pause:3.9",
            "localhost:5000/kube-proxy",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    images.push(format!("busybox@{DIGEST_A1}"));
    images.push(format!("busybox@{DIGEST_B2}"));
    images.push(format!(
        "quay.io/prometheus/node-exporter:v1.8.2@{DIGEST_A1}"
    ));
    images
}

/// `short_names` left out, or either of its values.
const SHORT_NAMES: &[Option<&str>] = &[None, Some("docker-hub"), Some("not-exempt")];

#[derive(Debug, Clone)]
struct Settings {
    namespaces: Vec<String>,
    images: Vec<String>,
    short_names: Option<&'static str>,
}

impl Settings {
    fn to_json(&self) -> String {
        let mut settings =
            json!({"exempt_namespaces": self.namespaces, "exempt_images": self.images});
        if let Some(value) = self.short_names {
            settings["short_names"] = json!(value);
        }
        settings.to_string()
    }

    /// Whether images written without a registry host can be exempt.
    fn short_names_exempt(&self) -> bool {
        self.short_names != Some("not-exempt")
    }
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        prop::sample::subsequence(NAMESPACE_ENTRIES, 0..=NAMESPACE_ENTRIES.len()),
        prop::sample::subsequence(image_entries(), 0..=4),
        prop::sample::select(SHORT_NAMES),
    )
        .prop_map(|(namespaces, images, short_names)| Settings {
            namespaces: namespaces.into_iter().map(str::to_owned).collect(),
            images,
            short_names,
        })
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Pod,
    Deployment,
    DaemonSet,
    CronJob,
    Rollout,
}

impl Kind {
    /// The API group and kind the request names.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Kind::Pod => ("", "Pod"),
            Kind::Deployment => ("apps", "Deployment"),
            Kind::DaemonSet => ("apps", "DaemonSet"),
            Kind::CronJob => ("batch", "CronJob"),
            Kind::Rollout => ("argoproj.io", "Rollout"),
        }
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Pod),
        Just(Kind::Deployment),
        Just(Kind::DaemonSet),
        Just(Kind::CronJob),
        Just(Kind::Rollout),
    ]
}

#[derive(Debug, Clone)]
struct Workload {
    kind: Kind,
    namespace: String,
    host_network: Option<bool>,
    containers: Vec<String>,
    init_containers: Vec<String>,
}

fn workload() -> impl Strategy<Value = Workload> {
    (
        kind(),
        prop::sample::select(NAMESPACES),
        prop::option::of(any::<bool>()),
        prop::collection::vec(prop::sample::select(images()), 1..4),
        prop::collection::vec(prop::sample::select(images()), 0..2),
    )
        .prop_map(
            |(kind, namespace, host_network, containers, init_containers)| Workload {
                kind,
                namespace: namespace.to_owned(),
                host_network,
                containers,
                init_containers,
            },
        )
}

fn containers(images: &[String]) -> Value {
    images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect()
}

/// `(group, kind, object)` for the workload, its pod spec where its kind keeps it.
fn object(w: &Workload) -> (&'static str, &'static str, Value) {
    let mut pod_spec = Map::new();
    if let Some(host_network) = w.host_network {
        pod_spec.insert("hostNetwork".into(), Value::Bool(host_network));
    }
    pod_spec.insert("containers".into(), containers(&w.containers));
    if !w.init_containers.is_empty() {
        pod_spec.insert("initContainers".into(), containers(&w.init_containers));
    }
    let pod_spec = Value::Object(pod_spec);
    let template = json!({"metadata": {"labels": {"app": "w"}}, "spec": pod_spec});
    let metadata = json!({"name": "w", "namespace": w.namespace});
    let spec = match w.kind {
        Kind::Pod => pod_spec,
        Kind::CronJob => {
            json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}})
        }
        Kind::Deployment | Kind::DaemonSet | Kind::Rollout => {
            json!({"replicas": 1, "template": template})
        }
    };
    let (group, kind) = w.kind.names();
    (group, kind, json!({"metadata": metadata, "spec": spec}))
}

fn request(group: &str, kind: &str, namespace: &str, object: &Value) -> Value {
    json!({
        "uid": "00000000-0000-0000-0000-000000000000",
        "kind": {"group": group, "version": "v1", "kind": kind},
        "name": "w",
        "namespace": namespace,
        "operation": "CREATE",
        "object": object,
    })
}

fn judge_json(request: &Value, settings: &str) -> ValidationResponse {
    evaluate(format!(r#"{{"request": {request}, "settings": {settings}}}"#).as_bytes())
}

fn judge(w: &Workload, settings: &Settings) -> ValidationResponse {
    let (group, kind, object) = object(w);
    judge_json(
        &request(group, kind, &w.namespace, &object),
        &settings.to_json(),
    )
}

/// A namespace glob matcher written independently of the policy's: plain backtracking.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.split_first(), text.split_first()) {
        (None, _) => text.is_empty(),
        (Some((b'*', rest)), _) => {
            wildcard(rest, text) || (!text.is_empty() && wildcard(pattern, &text[1..]))
        }
        (Some((p, rest)), Some((t, text_rest))) => p == t && wildcard(rest, text_rest),
        (Some(_), None) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        // Integration tests have no lib.rs beside them for proptest's default location.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    })]

    /// Printing an image gives its normalised form (what messages show), which parses back
    /// to the same image as matching sees it: the same host, segments, tag and digest, and so
    /// the same answer from every entry.
    #[test]
    fn image_normalisation_is_idempotent(
        registry in prop::option::of(prop_oneof![
            Just("docker.io".to_owned()),
            Just("Docker.IO".to_owned()),
            Just("index.docker.io".to_owned()),
            Just("localhost".to_owned()),
            "[a-zA-Z0-9]{1,5}(\\.[a-zA-Z0-9-]{1,4}){0,2}(:[0-9]{1,5})?",
        ]),
        path in "[a-z0-9]{1,4}([._-]{1,2}[a-z0-9]{1,3}){0,2}(/[a-z0-9]{1,4}){0,3}",
        tag in prop::option::of("[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,10}"),
        digest in prop::option::of(prop_oneof![Just(DIGEST_A1), Just(DIGEST_B2)]),
    ) {
        let mut written = registry.map(|r| format!("{r}/")).unwrap_or_default();
        written.push_str(&path);
        if let Some(tag) = tag { written.push(':'); written.push_str(&tag); }
        if let Some(digest) = digest { written.push('@'); written.push_str(digest); }
        if let Ok(image) = ImageRef::parse(&written) {
            let printed = image.to_string();
            let again = ImageRef::parse(&printed)
                .unwrap_or_else(|e| panic!("{written:?} printed as {printed:?}, which does not parse: {e}"));
            prop_assert_eq!(&again, &image, "{:?} -> {:?}", written, printed);
            prop_assert_eq!(&again.to_string(), &printed);
            for entry in image_entries() {
                let pattern: ImagePattern = entry.parse().unwrap();
                prop_assert_eq!(
                    pattern.matches(&again),
                    pattern.matches(&image),
                    "{} matches {:?} and {:?} differently", entry, written, printed
                );
            }
        }
    }

    /// Over any string, parsing never panics, and what parses is idempotent too.
    #[test]
    fn any_string_parses_or_is_refused(written in "\\PC{0,40}|[a-zA-Z0-9._:/@*-]{0,40}") {
        if let Ok(image) = ImageRef::parse(&written) {
            let printed = image.to_string();
            prop_assert_eq!(ImageRef::parse(&printed).ok(), Some(image));
        }
        let _ = written.parse::<ImagePattern>();
    }

    /// `nginx`, `docker.io/library/nginx:latest`, `index.docker.io/library/nginx`, ... are one
    /// image, so whatever the settings, they get one verdict: the short spellings (no
    /// registry host) one, the qualified spellings one, and both the same one unless
    /// `short_names` is `not-exempt`. (`Docker.io/nginx` is not Docker Hub: the runtime
    /// rewrites only the lowercase host.)
    #[test]
    fn spellings_of_one_image_share_a_verdict(
        name in prop_oneof![Just("nginx".to_owned()), Just("busybox".to_owned()), "[a-z]{1,6}"],
        latest in any::<bool>(),
        settings in settings(),
        namespace in prop::sample::select(NAMESPACES),
    ) {
        let tag = if latest { ":latest" } else { "" };
        let spellings = [
            format!("{name}{tag}"),
            format!("{name}:latest"),
            format!("library/{name}{tag}"),
            format!("docker.io/{name}{tag}"),
            format!("docker.io/library/{name}:latest"),
            format!("index.docker.io/library/{name}{tag}"),
            format!("index.docker.io/{name}:latest"),
        ];
        let verdicts: Vec<(bool, bool)> = spellings
            .iter()
            .map(|image| {
                let w = Workload {
                    kind: Kind::DaemonSet,
                    namespace: namespace.to_owned(),
                    host_network: Some(true),
                    containers: vec![image.clone()],
                    init_containers: vec![],
                };
                let response = judge(&w, &settings);
                (response.accepted, response.warnings.is_some())
            })
            .collect();
        // The first three spellings are short names.
        let (short, qualified) = verdicts.split_at(3);
        for group in [short, qualified] {
            prop_assert!(
                group.windows(2).all(|pair| pair[0] == pair[1]),
                "{:?} under {:?}: {:?}", spellings, settings, verdicts
            );
        }
        if settings.short_names_exempt() {
            prop_assert_eq!(short[0], qualified[0], "{:?} under {:?}", spellings, settings);
        }
    }

    /// `short_names: not-exempt` only ever takes exemptions away, and only from pods with an
    /// image written without a registry host, which it never lets an image entry exempt.
    #[test]
    fn not_exempting_short_names_only_denies_short_names(
        w in workload(),
        settings in settings(),
    ) {
        let strict = Settings { short_names: Some("not-exempt"), ..settings.clone() };
        let default = Settings { short_names: None, ..settings };
        let (strict_response, default_response) = (judge(&w, &strict), judge(&w, &default));
        if strict_response.accepted {
            prop_assert!(default_response.accepted, "{:?} under {:?}", w, strict);
        }
        let any_short = w.containers.iter().chain(&w.init_containers).any(|image| {
            ImageRef::parse(image).is_ok_and(|parsed| parsed.is_short_name())
        });
        if !any_short {
            prop_assert_eq!(strict_response.accepted, default_response.accepted, "{:?}", w);
        }
        let by_images = strict_response
            .audit_annotations
            .as_ref()
            .is_some_and(|a| a.values().any(|v| v.starts_with("exempt_images")));
        prop_assert!(!(any_short && by_images), "{:?} under {:?}", w, strict);
    }

    /// A container that no entry exempts, added to a rejected pod, never gets it admitted.
    #[test]
    fn adding_a_non_exempt_container_never_admits(
        w in workload(),
        settings in settings(),
        extra in prop::sample::select(NEVER_EXEMPT),
        init in any::<bool>(),
    ) {
        let mut more = w.clone();
        if init { more.init_containers.push(extra.to_owned()) } else { more.containers.push(extra.to_owned()) }
        if judge(&more, &settings).accepted {
            prop_assert!(judge(&w, &settings).accepted, "{:?} under {:?}", more, settings);
        }
    }

    /// Turning the host network off never gets a request rejected: every readable pod without
    /// it is admitted, without a warning, whatever its images and namespace.
    #[test]
    fn dropping_host_network_never_rejects(
        w in workload(),
        settings in settings(),
        remove in any::<bool>(),
    ) {
        let mut off = w;
        off.host_network = if remove { None } else { Some(false) };
        let response = judge(&off, &settings);
        prop_assert!(response.accepted, "{:?} under {:?}: {:?}", off, settings, response.message);
        prop_assert!(response.warnings.is_none(), "{:?}", response.warnings);
    }

    /// One more exemption entry never turns an admission into a rejection.
    #[test]
    fn adding_an_exemption_never_rejects(
        w in workload(),
        settings in settings(),
        namespace_entry in prop::option::of(prop::sample::select(NAMESPACE_ENTRIES)),
        image_entry in prop::sample::select(image_entries()),
    ) {
        let mut more = settings.clone();
        match namespace_entry {
            Some(entry) => more.namespaces.push(entry.to_owned()),
            None => more.images.push(image_entry),
        }
        if judge(&w, &settings).accepted {
            prop_assert!(judge(&w, &more).accepted, "{:?} under {:?}", w, more);
        }
    }

    /// The safety invariant, with namespaces judged by an independent matcher: a pod on the
    /// host network, outside every exempt namespace, with an image no entry exempts, is
    /// rejected.
    #[test]
    fn unexempted_host_network_is_rejected(
        w in workload(),
        settings in settings(),
        bad in prop::sample::select(NEVER_EXEMPT),
    ) {
        let mut w = w;
        w.host_network = Some(true);
        w.containers.push(bad.to_owned());
        let namespace_exempt = settings
            .namespaces
            .iter()
            .any(|entry| wildcard(entry.as_bytes(), w.namespace.as_bytes()));
        let response = judge(&w, &settings);
        if namespace_exempt {
            prop_assert!(response.accepted, "{:?} under {:?}: {:?}", w, settings, response.message);
        } else {
            prop_assert!(!response.accepted, "{:?} under {:?}", w, settings);
            prop_assert!(response.message.is_some_and(|m| !m.is_empty()));
        }
    }

    /// A `*` stays within its path segment: an entry without `**` matches exactly the images
    /// with as many path segments, each matched by its glob (checked by an independent
    /// matcher), so no star ever reaches across a `/`.
    #[test]
    fn star_never_matches_across_a_slash(
        registry in prop_oneof![Just("quay.io"), Just("docker.io"), Just("*.k8s.io")],
        entry_segments in prop::collection::vec(prop_oneof![Just("*"), Just("a*"), Just("*b"), Just("a"), Just("a*b")], 1..4),
        image_segments in prop::collection::vec("[ab]{1,3}", 1..6),
    ) {
        let entry = format!("{registry}/{}", entry_segments.join("/"));
        let image = format!("{}/{}", registry.replace('*', "eu"), image_segments.join("/"));
        let pattern: ImagePattern = entry.parse().unwrap();
        let parsed = ImageRef::parse(&image).unwrap();
        let entry_path = official(registry, entry_segments.clone());
        let image_path = official(registry, image_segments.iter().map(String::as_str).collect());
        let expected = entry_path.len() == image_path.len()
            && entry_path
                .iter()
                .zip(&image_path)
                .all(|(glob, segment)| wildcard(glob.as_bytes(), segment.as_bytes()));
        prop_assert_eq!(pattern.matches(&parsed), expected, "{} ~ {}", entry, image);
    }

    /// Whatever object a request carries, the policy answers; and wherever a known kind keeps
    /// its pod spec, `hostNetwork: true` without exemptions is rejected.
    #[test]
    fn any_object_gets_a_verdict(tree in json_value(), kind in kind(), force in any::<bool>()) {
        let (group, kind_name) = kind.names();
        let mut object = tree;
        if force {
            let path: &[&str] = match kind {
                Kind::Pod => &["spec"],
                Kind::CronJob => &["spec", "jobTemplate", "spec", "template", "spec"],
                _ => &["spec", "template", "spec"],
            };
            set_path(&mut object, path, "hostNetwork", Value::Bool(true));
        }
        let response = judge_json(&request(group, kind_name, "default", &object), "{}");
        if force {
            prop_assert!(!response.accepted, "{}", object);
        }
        if !response.accepted {
            prop_assert!(response.message.is_some_and(|m| !m.is_empty()));
        }
    }

    /// Nesting of any depth, around a generated value, anywhere in the object: the policy
    /// answers (past serde_json's limit of 128 where it reads, by rejecting), and a pod spec
    /// with `hostNetwork: true` beside it is never admitted without an exemption.
    #[test]
    fn deep_nesting_anywhere_gets_an_answer(
        depth in 0usize..400,
        arrays in any::<bool>(),
        inner in json_value(),
        at in prop::sample::select(&["metadata", "spec", "template", "containers", "object"][..]),
    ) {
        let (open, close) = if arrays { ("[", "]") } else { (r#"{"spec":"#, "}") };
        let deep = format!("{}{inner}{}", open.repeat(depth), close.repeat(depth));
        let pod_spec = |extra: &str| {
            format!(r#"{{"hostNetwork":true{extra},"containers":[{{"name":"a","image":"evil/a"}}]}}"#)
        };
        let object = match at {
            "metadata" => format!(r#"{{"metadata":{{"labels":{deep}}},"spec":{{"template":{{"spec":{}}}}}}}"#, pod_spec("")),
            "spec" => format!(r#"{{"spec":{{"x":{deep},"template":{{"spec":{}}}}}}}"#, pod_spec("")),
            "template" => format!(r#"{{"spec":{{"template":{{"spec":{}}}}}}}"#, pod_spec(&format!(r#","template":{deep}"#))),
            "containers" => format!(r#"{{"spec":{{"template":{{"spec":{}}}}}}}"#, pod_spec(&format!(r#","initContainers":{deep}"#))),
            _ => deep.clone(),
        };
        let request = format!(
            r#"{{"kind":{{"group":"apps","version":"v1","kind":"Deployment"}},"namespace":"default","operation":"CREATE","object":{object}}}"#
        );
        let response = evaluate(format!(r#"{{"request":{request},"settings":{{}}}}"#).as_bytes());
        if at != "object" {
            prop_assert!(!response.accepted, "{}", request);
        }
        if !response.accepted {
            prop_assert!(response.message.is_some_and(|m| !m.is_empty()));
        }
    }

    /// Settings that do not validate never let a pod on the host network through `validate`
    /// on their own: settings that cannot be read admit none, and a refused entry admits
    /// nothing, so whatever they admit, the same settings without their refused entries
    /// admit too. (A request without a pod on the host network never reads them:
    /// policy-server refuses to serve settings that `validate_settings` refuses.)
    #[test]
    fn invalid_settings_never_admit(settings in json_value(), w in workload()) {
        if w.host_network == Some(true) {
            let (group, kind, object) = object(&w);
            let request = request(group, kind, &w.namespace, &object);
            oracles::refused_settings_admit_no_more(&request.to_string(), &settings.to_string());
        }
    }

    /// Arbitrary bytes, as the payload and as settings, get an answer, never a panic.
    #[test]
    fn any_bytes_get_an_answer(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let response = evaluate(&bytes);
        if !response.accepted {
            prop_assert!(response.message.is_some_and(|m| !m.is_empty()));
        }
        let settings = check_settings(&bytes);
        prop_assert!(settings.valid || settings.message.is_some());
    }

    /// A valid payload with a few bytes changed gets an answer, never a panic.
    #[test]
    fn mangled_payloads_get_an_answer(
        w in workload(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let (group, kind, object) = object(&w);
        let mut bytes = format!(
            r#"{{"request": {}, "settings": {{"exempt_images": ["quay.io/cilium/*"]}}}}"#,
            request(group, kind, &w.namespace, &object)
        )
        .into_bytes();
        for (at, byte) in edits {
            let at = at.index(bytes.len());
            bytes[at] = byte;
        }
        let _ = evaluate(&bytes);
    }
}

/// Docker Hub puts a lone path segment under `library/`.
fn official<'s>(registry: &str, mut segments: Vec<&'s str>) -> Vec<&'s str> {
    if registry == "docker.io" && segments.len() == 1 {
        segments.insert(0, "library");
    }
    segments
}

/// Sets `key` at `path` inside `value`, turning whatever is in the way into objects.
fn set_path(value: &mut Value, path: &[&str], key: &str, leaf: Value) {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    let Value::Object(map) = value else {
        unreachable!()
    };
    match path.split_first() {
        None => {
            map.insert(key.to_owned(), leaf);
        }
        Some((first, rest)) => {
            let next = map.entry((*first).to_owned()).or_insert(Value::Null);
            set_path(next, rest, key, leaf);
        }
    }
}

/// JSON trees biased towards the keys the policy reads.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        prop::sample::select(images()).prop_map(Value::String),
        prop::sample::select(SHORT_NAMES).prop_map(|v| Value::String(v.unwrap_or("").to_owned())),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    let key = prop_oneof![
        Just("spec".to_owned()),
        Just("template".to_owned()),
        Just("jobTemplate".to_owned()),
        Just("hostNetwork".to_owned()),
        Just("containers".to_owned()),
        Just("initContainers".to_owned()),
        Just("ephemeralContainers".to_owned()),
        Just("image".to_owned()),
        Just("name".to_owned()),
        Just("metadata".to_owned()),
        Just("namespace".to_owned()),
        Just("exempt_images".to_owned()),
        Just("exempt_namespaces".to_owned()),
        Just("short_names".to_owned()),
        "[a-zA-Z]{1,4}",
    ];
    leaf.prop_recursive(8, 96, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}
