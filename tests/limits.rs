//! Inputs at the edges of size and depth: each ends in a verdict or a clean rejection, never
//! a panic, a stack overflow or a hang.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use host_network_policy::{check_settings, evaluate, MAX_DISTINCT_IMAGES};
use kubewarden_policy_sdk::response::ValidationResponse;
use rstest::rstest;
use serde_json::{json, Value};

const MEGABYTE: usize = 1 << 20;
/// Far above serde_json's recursion limit of 128.
const DEEP: usize = 10_000;

fn daemonset(host_network: bool, containers: Value) -> Value {
    json!({
        "uid": "00000000-0000-0000-0000-000000000000",
        "kind": {"group": "apps", "version": "v1", "kind": "DaemonSet"},
        "name": "big",
        "namespace": "default",
        "operation": "CREATE",
        "object": {
            "metadata": {"name": "big", "namespace": "default", "annotations": {}},
            "spec": {"template": {"spec": {"hostNetwork": host_network, "containers": containers}}}
        }
    })
}

fn one_container() -> Value {
    json!([{"name": "app", "image": "docker.io/attacker/toolbox:1.0"}])
}

fn judge_text(request: &str, settings: &str) -> ValidationResponse {
    // No absolute time is asserted: growth is bounded below, as a ratio of medians.
    let payload = format!(r#"{{"request": {request}, "settings": {settings}}}"#);
    evaluate(payload.as_bytes())
}

fn judge(request: &Value, settings: &str) -> ValidationResponse {
    judge_text(&request.to_string(), settings)
}

/// `[[[...]]]` or `{"a":{"a":...}}`, `depth` levels deep, around `inner`.
fn nested(depth: usize, arrays: bool, inner: &str) -> String {
    let (open, close) = if arrays {
        ("[", "]")
    } else {
        (r#"{"a":"#, "}")
    };
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

fn rejected_as_read(response: &ValidationResponse) -> String {
    assert!(!response.accepted);
    let message = response.message.clone().unwrap_or_default();
    assert!(!message.is_empty());
    message
}

#[rstest]
#[case::host_network(true)]
#[case::no_host_network(false)]
fn a_three_megabyte_request_gets_its_verdict(#[case] host_network: bool) {
    let mut request = daemonset(host_network, one_container());
    request["object"]["metadata"]["annotations"]["blob"] = Value::String("x".repeat(3 * MEGABYTE));
    let response = judge(&request, "{}");
    assert_eq!(response.accepted, !host_network, "{:?}", response.message);
    if host_network {
        let message = rejected_as_read(&response);
        assert!(
            message.contains("is not allowed to use the host network"),
            "{message}"
        );
        assert!(message.len() < 1024, "the blob must not reach the message");
    }
}

#[test]
fn a_three_megabyte_request_of_many_small_fields_gets_its_verdict() {
    let mut request = daemonset(true, one_container());
    let labels: serde_json::Map<String, Value> = (0..100_000)
        .map(|i| (format!("label-{i:06}"), Value::String("v".repeat(16))))
        .collect();
    request["object"]["metadata"]["labels"] = Value::Object(labels);
    let text = request.to_string();
    assert!(text.len() > 3 * MEGABYTE, "{}", text.len());
    let message = rejected_as_read(&judge_text(&text, "{}"));
    assert!(
        message.contains("is not allowed to use the host network"),
        "{message}"
    );
}

const CILIUM: &str = r#"{"exempt_images": ["quay.io/cilium/*"]}"#;

/// `n` containers drawn from 16 exempt images: pods repeat their images.
fn cilium_containers(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/cilium/agent-{}:v1", i % 16)}))
        .collect()
}

#[test]
fn a_pod_of_more_distinct_images_than_are_judged_is_not_exempt() {
    let containers: Vec<Value> = (0..=MAX_DISTINCT_IMAGES)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/cilium/agent-{i}:v1")}))
        .collect();
    let message = rejected_as_read(&judge(&daemonset(true, Value::Array(containers)), CILIUM));
    let last = MAX_DISTINCT_IMAGES;
    assert!(
        message.contains(&format!(
            r#"container "c{last}" image "quay.io/cilium/agent-{last}:v1" was not checked: the pod names more than {MAX_DISTINCT_IMAGES} distinct images"#
        )),
        "{message}"
    );
    // One fewer, and every image is judged and exempt.
    let containers: Vec<Value> = (0..MAX_DISTINCT_IMAGES)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("quay.io/cilium/agent-{i}:v1")}))
        .collect();
    assert!(judge(&daemonset(true, Value::Array(containers)), CILIUM).accepted);
}

#[test]
fn five_thousand_exempt_containers_are_admitted_with_a_short_warning() {
    let response = judge(
        &daemonset(true, Value::Array(cilium_containers(5_000))),
        CILIUM,
    );
    assert!(response.accepted, "{:?}", response.message);
    let warnings = response.warnings.unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].ends_with("(5000 images)"), "{}", warnings[0]);
    assert!(warnings[0].len() < 1024, "{}", warnings[0].len());
}

#[test]
fn one_non_exempt_container_among_five_thousand_is_found() {
    let mut containers = cilium_containers(5_000);
    containers.push(json!({"name": "last", "image": "docker.io/attacker/toolbox:1.0"}));
    let message = rejected_as_read(&judge(&daemonset(true, Value::Array(containers)), CILIUM));
    assert!(
        message.contains(r#"container "last" image "docker.io/attacker/toolbox:1.0""#),
        "{message}"
    );
}

#[test]
fn five_thousand_non_exempt_containers_are_rejected_with_a_short_message() {
    let containers: Vec<Value> = (0..5_000)
        .map(|i| json!({"name": format!("c{i}"), "image": format!("evil/agent-{i}:v1")}))
        .collect();
    let message = rejected_as_read(&judge(&daemonset(true, Value::Array(containers)), CILIUM));
    assert!(
        message.contains(r#"container "c0" image "evil/agent-0:v1""#),
        "{message}"
    );
    assert!(message.contains("more"), "{message}");
    assert!(message.len() < 4096, "{}", message.len());
}

#[test]
fn deep_nesting_inside_an_annotation_string_is_just_text() {
    let mut request = daemonset(true, one_container());
    request["object"]["metadata"]["annotations"]["deep"] = Value::String(nested(DEEP, true, "0"));
    let message = rejected_as_read(&judge(&request, "{}"));
    assert!(
        message.contains("is not allowed to use the host network"),
        "{message}"
    );
}

/// Fields the policy does not read are skipped without recursion (serde_json's skipping
/// keeps its own stack), so however deep they are, the request gets its usual verdict.
#[rstest]
#[case::arrays_in_metadata(true, r#""annotations":{}"#, true)]
#[case::objects_in_metadata(false, r#""annotations":{}"#, true)]
#[case::arrays_in_the_pod_spec(true, r#""hostNetwork":true"#, true)]
#[case::objects_in_the_pod_spec(false, r#""hostNetwork":true"#, true)]
#[case::objects_in_a_pod_spec_without_host_network(false, r#""hostNetwork":false"#, false)]
fn deep_nesting_in_fields_not_read_is_skipped(
    #[case] arrays: bool,
    #[case] anchor: &str,
    #[case] host_network: bool,
) {
    let request = daemonset(host_network, one_container()).to_string();
    let deep = format!(r#"{anchor},"deep":{}"#, nested(DEEP, arrays, "0"));
    assert!(request.contains(anchor));
    let request = request.replacen(anchor, &deep, 1);
    let response = judge_text(&request, "{}");
    assert_eq!(response.accepted, !host_network, "{:?}", response.message);
    if host_network {
        let message = rejected_as_read(&response);
        assert!(
            message.contains("is not allowed to use the host network"),
            "{message}"
        );
    }
}

/// Where the policy does descend, serde_json's recursion limit of 128 stops it: the request
/// cannot be read and is rejected, saying so, long before the stack could overflow.
#[test]
fn deep_nesting_through_fields_the_policy_reads_is_rejected_cleanly() {
    // `spec.template.spec.template.spec...`: every level is a field the policy reads.
    let chain = format!(
        "{}{{}}{}",
        r#"{"template":{"spec":"#.repeat(DEEP),
        "}}".repeat(DEEP)
    );
    let request = format!(
        r#"{{"kind": {{"group": "apps", "kind": "Deployment"}}, "namespace": "default", "operation": "CREATE", "object": {{"spec": {chain}}}}}"#
    );
    let message = rejected_as_read(&judge_text(&request, "{}"));
    assert!(message.contains("cannot be checked"), "{message}");
    assert!(message.contains("recursion limit exceeded"), "{message}");
}

#[rstest]
#[case::arrays(true, false)]
#[case::objects_have_no_pod_spec(false, true)]
fn deep_nesting_as_the_object_gets_a_verdict(#[case] arrays: bool, #[case] accepted: bool) {
    let request = format!(
        r#"{{"kind": {{"group": "", "kind": "Pod"}}, "namespace": "default", "operation": "CREATE", "object": {}}}"#,
        nested(DEEP, arrays, "0")
    );
    let response = judge_text(&request, "{}");
    assert_eq!(response.accepted, accepted, "{:?}", response.message);
    if !accepted {
        rejected_as_read(&response);
    }
}

#[test]
fn deep_nesting_in_the_old_object_is_rejected_cleanly() {
    let mut request = daemonset(true, one_container());
    request["operation"] = json!("UPDATE");
    let request = request.to_string().replacen(
        r#""operation":"UPDATE""#,
        &format!(
            r#""operation":"UPDATE","oldObject":{}"#,
            nested(DEEP, false, "0")
        ),
        1,
    );
    rejected_as_read(&judge_text(&request, "{}"));
}

#[test]
fn deep_nesting_as_the_whole_payload_gets_an_answer() {
    rejected_as_read(&evaluate(nested(DEEP, true, "0").as_bytes()));
    // An object without `request`: judged as such (see tests/bypass.rs), without a trap.
    let _ = evaluate(nested(DEEP, false, "0").as_bytes());
}

#[rstest]
#[case::arrays(true)]
#[case::objects(false)]
fn deep_settings_are_invalid_and_exempt_nothing(#[case] arrays: bool) {
    let settings = nested(DEEP, arrays, "0");
    let validation = check_settings(settings.as_bytes());
    assert!(!validation.valid);
    assert!(validation.message.is_some());
    let request = daemonset(true, one_container()).to_string();
    let message = rejected_as_read(&judge_text(&request, &settings));
    assert!(message.contains("settings are not valid"), "{message}");
}

/// Just under the limit, a chain of fields the policy reads is still read and judged.
#[test]
fn nesting_just_under_the_limit_is_read() {
    // payload > request > object > spec, then 60 `template.spec` pairs: 124 levels.
    let levels = 60;
    let chain = format!(
        "{}{{\"hostNetwork\":true,\"containers\":[{{\"name\":\"a\",\"image\":\"evil/a\"}}]}}{}",
        r#"{"template":{"spec":"#.repeat(levels),
        "}}".repeat(levels)
    );
    let request = format!(
        r#"{{"kind": {{"group": "", "kind": "Pod"}}, "namespace": "default", "operation": "CREATE", "object": {{"spec": {chain}}}}}"#
    );
    let response = judge_text(&request, "{}");
    // A Pod's pod spec is `spec`; the chain below it is read, found well formed, and unused.
    assert!(response.accepted, "{:?}", response.message);
    let request = request.replacen(r#""kind": "Pod""#, r#""kind": "Deployment""#, 1);
    let request = request.replacen(r#""group": """#, r#""group": "apps""#, 1);
    let response = judge_text(&request, "{}");
    assert!(response.accepted, "{:?}", response.message);
}

// ---------------------------------------------------------------------------------------------
// Cost grows linearly with the size of what is matched: each adversarial shape is judged at
// one and at four times its size, and the median cost may grow about four times, not sixteen.
// Medians of repeated runs, compared with each other: a ratio, never an absolute time.

/// A Pod on the host network with these images, one container each.
fn pod_of(images: &[String]) -> String {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    json!({
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "namespace": "default", "operation": "CREATE",
        "object": {"metadata": {"name": "p"}, "spec": {"hostNetwork": true, "containers": containers}}
    })
    .to_string()
}

/// The median time to judge `payload`, over enough runs that one slow run does not count.
fn median_cost(payload: &[u8]) -> Duration {
    let mut runs: Vec<Duration> = (0..9)
        .map(|_| {
            let started = Instant::now();
            let response = evaluate(payload);
            let elapsed = started.elapsed();
            assert!(response.message.is_some() || response.accepted);
            elapsed
        })
        .collect();
    runs.sort_unstable();
    runs[runs.len() / 2]
}

/// `scale` one-letter segments: `a/b/c/...`.
fn segments(scale: usize, salt: usize) -> String {
    (0..scale)
        .map(|s| char::from(b'a' + ((s * 7 + salt) % 26) as u8).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// An adversarial shape at size `scale`: (images, image entries).
type Shape = fn(usize) -> (Vec<String>, Vec<String>);

/// 64 distinct images of `scale` segments against 64 entries of `scale / 4` single-segment
/// globs before their `**` and as many after it, that match the front of every image and
/// never its end: each comparison walks both ends of the path.
fn globs_around_any_depth(scale: usize) -> (Vec<String>, Vec<String>) {
    let images = (0..64)
        .map(|i| format!("registry.example.com/{}/end{i}", segments(scale, i)))
        .collect();
    let globs = |n: usize| vec!["*"; n].join("/");
    let entries = (0..64)
        .map(|n| {
            format!(
                "registry.example.com/{}/**/{}/x{n}",
                globs(scale / 4),
                globs(scale / 4)
            )
        })
        .collect();
    (images, entries)
}

/// 64 distinct images whose tags are `scale` characters long against 64 tag globs with
/// pieces to find in them, which they never complete.
fn long_tags_under_tag_globs(scale: usize) -> (Vec<String>, Vec<String>) {
    let images = (0..64)
        .map(|i| {
            format!(
                "quay.io/prometheus/node-exporter:v1.{}{i}",
                "ab".repeat(scale / 2)
            )
        })
        .collect();
    let entries = (0..64)
        .map(|n| format!("quay.io/prometheus/node-exporter:v1.*a*b*x{n}*"))
        .collect();
    (images, entries)
}

/// 64 distinct images `scale` segments deep under `ghcr.io/acme/`, after 63 entries of the
/// same prefix that they do not match, and the `ghcr.io/acme/**` that exempts them last.
fn deep_paths_under_any_depth(scale: usize) -> (Vec<String>, Vec<String>) {
    let images = (0..64)
        .map(|i| format!("ghcr.io/acme/{}/tool{i}", segments(scale, i)))
        .collect();
    let mut entries: Vec<String> = (0..63)
        .map(|n| format!("ghcr.io/acme/{}/**/x{n}", segments(scale / 2, 0)))
        .collect();
    entries.push("ghcr.io/acme/**".to_owned());
    (images, entries)
}

#[rstest]
#[case::globs_around_any_depth(globs_around_any_depth as Shape)]
#[case::long_tags_under_tag_globs(long_tags_under_tag_globs as Shape)]
#[case::deep_paths_under_any_depth(deep_paths_under_any_depth as Shape)]
fn matching_cost_grows_linearly_with_the_size_of_images_and_entries(#[case] shape: Shape) {
    // 30 and 120: the longest paths stay within the 255 characters of a repository name.
    let payload = |scale: usize| {
        let (images, entries) = shape(scale);
        let settings = json!({"exempt_images": entries}).to_string();
        assert!(check_settings(settings.as_bytes()).valid, "{settings}");
        format!(
            r#"{{"request": {}, "settings": {settings}}}"#,
            pod_of(&images)
        )
        .into_bytes()
    };
    let (small, large) = (payload(30), payload(120));
    // Warm the allocator and caches on both before measuring.
    let _ = (evaluate(&small), evaluate(&large));
    let ratio = median_cost(&large).as_secs_f64() / median_cost(&small).as_secs_f64();
    // Four times the size: about four times the cost when linear, sixteen when quadratic.
    assert!(ratio < 8.0, "4x the size cost {ratio:.1}x");
}
