//! Every behaviour rule of the policy, exercised natively over the admission requests in
//! `test_data/`, the same files e2e.bats feeds to the compiled policy.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use host_network_policy::{check_settings, evaluate};
use kubewarden_policy_sdk::response::ValidationResponse;
use rstest::rstest;

const NO_SETTINGS: &str = "{}";
const NAMESPACES: &str = r#"{"exempt_namespaces": ["kube-system", "monitoring-*"]}"#;
const IMAGES: &str = r#"{"exempt_images": [
    "quay.io/cilium/*",
    "registry.k8s.io/kube-proxy",
    "docker.io/library/nginx",
    "quay.io/prometheus/node-exporter:v1.8.2",
    "busybox@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1",
    "docker.io/cilium/*"
]}"#;

/// The `validate` payload policy-server would send for a fixture, built as text so the
/// fixture's bytes (duplicate keys included) reach the policy untouched.
fn payload(fixture: &str, settings: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data")
        .join(format!("{fixture}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let request = match value.get("request") {
        Some(request) => request.to_string(),
        None => text,
    };
    format!(r#"{{"request": {request}, "settings": {settings}}}"#).into_bytes()
}

fn run(fixture: &str, settings: &str) -> ValidationResponse {
    assert!(
        check_settings(settings.as_bytes()).valid,
        "test settings must be valid"
    );
    evaluate(&payload(fixture, settings))
}

enum Expect {
    Allowed,
    /// Accepted, with a warning containing every fragment.
    Warned(&'static [&'static str]),
    /// Rejected, with a message containing every fragment.
    Rejected(&'static [&'static str]),
}
use Expect::*;

fn check(fixture: &str, settings: &str, expect: Expect) {
    let response = run(fixture, settings);
    let context = format!("{fixture}: {response:?}");
    match expect {
        Allowed => {
            assert!(response.accepted, "{context}");
            assert!(response.warnings.is_none(), "{context}");
            assert!(response.message.is_none(), "{context}");
        }
        Warned(fragments) => {
            assert!(response.accepted, "{context}");
            let warnings = response.warnings.clone().unwrap_or_default();
            assert_eq!(warnings.len(), 1, "{context}");
            for fragment in fragments {
                assert!(
                    warnings[0].contains(fragment),
                    "missing {fragment:?} in {context}"
                );
            }
        }
        Rejected(fragments) => {
            assert!(!response.accepted, "{context}");
            let message = response.message.clone().unwrap_or_default();
            for fragment in fragments {
                assert!(
                    message.contains(fragment),
                    "missing {fragment:?} in {context}"
                );
            }
        }
    }
}

// Rule 1: every workload kind, and custom kinds carrying a pod template.
#[rstest]
#[case::pod("pod_host_network", "Pod default/web", "spec.hostNetwork")]
#[case::deployment(
    "deployment_host_network",
    "Deployment default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::replicaset(
    "replicaset_host_network",
    "ReplicaSet default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::statefulset(
    "statefulset_host_network",
    "StatefulSet default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::daemonset(
    "daemonset_host_network",
    "DaemonSet default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::replicationcontroller(
    "replicationcontroller_host_network",
    "ReplicationController default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::job(
    "job_host_network",
    "Job default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::cronjob(
    "cronjob_host_network",
    "CronJob default/web",
    "spec.jobTemplate.spec.template.spec.hostNetwork"
)]
#[case::argo_rollout(
    "rollout_host_network",
    "Rollout default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::kruise_cloneset(
    "cloneset_host_network",
    "CloneSet default/web",
    "spec.template.spec.hostNetwork"
)]
#[case::custom_kind_with_job_template(
    "custom_kind_job_template_host_network",
    "ScheduledWorkload default/nightly",
    "spec.jobTemplate.spec.template.spec.hostNetwork"
)]
fn every_kind_is_rejected(
    #[case] fixture: &str,
    #[case] subject: &'static str,
    #[case] field: &'static str,
) {
    let response = run(fixture, NO_SETTINGS);
    assert!(!response.accepted, "{fixture}");
    let message = response.message.unwrap();
    assert!(message.starts_with(subject), "{message}");
    assert!(message.contains(&format!("{field} is true")), "{message}");
}

#[rstest]
#[case::configmap("configmap_no_pod_spec")]
#[case::pod_without_spec("pod_without_spec")]
fn objects_without_pod_spec_are_accepted(#[case] fixture: &str) {
    check(fixture, NO_SETTINGS, Allowed);
}

// Rule 2: only `true` is refused.
#[rstest]
#[case::host_network_false("deployment_host_network_false")]
#[case::host_network_absent("pod_host_network_absent")]
#[case::host_network_null("pod_host_network_null")]
fn host_network_not_true_is_accepted(#[case] fixture: &str) {
    check(fixture, IMAGES, Allowed);
}

// Rule 3: namespace exemptions.
#[rstest]
#[case::exact_namespace("daemonset_kube_system_host_network", Warned(&["DaemonSet kube-system/node-agent uses the host network", "namespace \"kube-system\" matches exempt_namespaces entry \"kube-system\""]))]
#[case::namespace_lookalike("daemonset_kube_system_evil_host_network", Rejected(&["DaemonSet kube-system-evil/node-agent"]))]
#[case::glob_namespace("daemonset_monitoring_prod_host_network", Warned(&["entry \"monitoring-*\""]))]
#[case::glob_needs_its_dash("daemonset_monitoring_host_network", Rejected(&["DaemonSet monitoring/node-exporter"]))]
#[case::object_namespace_cannot_override_request("pod_object_namespace_differs_from_request", Rejected(&["Pod default/sneaky", "exempt the namespace \"default\""]))]
#[case::object_namespace_is_the_fallback("pod_namespace_only_in_object", Warned(&["Pod kube-system/agent"]))]
fn namespace_exemptions(#[case] fixture: &str, #[case] expect: Expect) {
    check(fixture, NAMESPACES, expect);
}

// Rule 4: image exemptions hold only when every image is exempt.
#[rstest]
#[case::every_image_exempt("daemonset_cilium_images", Warned(&["every image matches exempt_images", "\"quay.io/cilium/cilium:v1.15.1\" by \"quay.io/cilium/*\""]))]
#[case::sidecar_rides_along("daemonset_cilium_with_sidecar", Rejected(&["container \"sidecar\" image \"docker.io/attacker/toolbox:1.0\""]))]
#[case::init_container_rides_along("daemonset_cilium_with_init_container", Rejected(&["initContainer \"setup\" image \"busybox:1.36\""]))]
#[case::ephemeral_container_rides_along("pod_cilium_with_ephemeral_container", Rejected(&["ephemeralContainer \"debugger\" image \"nicolaka/netshoot:v0.13\""]))]
#[case::missing_image("pod_image_missing", Rejected(&["container \"noimage\" has no image"]))]
#[case::invalid_image("pod_image_invalid", Rejected(&["container \"bad\" image \"Quay.io/Cilium/Cilium:v1\" is not a valid image reference"]))]
#[case::repository_entry("daemonset_kube_proxy", Warned(&["by \"registry.k8s.io/kube-proxy\""]))]
#[case::repository_is_not_a_prefix("daemonset_kube_proxy_lookalike_repository", Rejected(&["registry.k8s.io/kube-proxy-evil:v1.30.2"]))]
#[case::registry_is_not_a_prefix("daemonset_kube_proxy_lookalike_registry", Rejected(&["registry.k8s.io.evil.com/kube-proxy:v1.30.2"]))]
#[case::registry_host_is_case_insensitive("daemonset_kube_proxy_registry_uppercase", Warned(&["\"REGISTRY.K8S.IO/kube-proxy:v1.30.2\" by \"registry.k8s.io/kube-proxy\""]))]
#[case::short_name_is_normalised("daemonset_nginx_short_name", Warned(&["\"nginx\" by \"docker.io/library/nginx\""]))]
#[case::official_image_is_not_any_namespace("daemonset_nginx_lookalike_namespace", Rejected(&["docker.io/evil/nginx:1.27"]))]
#[case::tag_entry("daemonset_node_exporter_tag", Warned(&["by \"quay.io/prometheus/node-exporter:v1.8.2\""]))]
#[case::tag_entry_does_not_vouch_for_a_digest("daemonset_node_exporter_tag_with_digest", Rejected(&["node-exporter:v1.8.2@sha256:"]))]
#[case::digest_entry("daemonset_busybox_digest", Warned(&["by \"busybox@sha256:a1a1"]))]
#[case::other_digest("daemonset_busybox_other_digest", Rejected(&["busybox@sha256:b2b2"]))]
#[case::glob_is_not_a_namespace_prefix("daemonset_cilium_namespace_lookalike", Rejected(&["docker.io/cilium-evil/cilium:v1.15"]))]
#[case::glob_does_not_cross_slash("daemonset_cilium_nested_path", Rejected(&["docker.io/cilium/extra/cilium:v1.15"]))]
fn image_exemptions(#[case] fixture: &str, #[case] expect: Expect) {
    check(fixture, IMAGES, expect);
}

/// Entries for the image-volume, IPv6 and regional-registry scenarios.
const AGENT_IMAGES: &str = r#"{"exempt_images": [
    "registry.k8s.io/kube-proxy",
    "ghcr.io/acme/**",
    "[fd00::1]:5000/platform/net-agent",
    "602401143452.dkr.ecr.*.amazonaws.com/amazon-k8s-cni"
]}"#;

// Every image of the pod counts, image volumes included, and every registry form is exempted.
#[rstest]
#[case::image_volume_exempt("pod_image_volume_exempt", Warned(&["\"ghcr.io/acme/agent-tools:1.4\" by \"ghcr.io/acme/**\""]))]
#[case::image_volume_not_exempt("pod_image_volume_not_exempt", Rejected(&["Not covered by exempt_images: volume \"tools\" image \"docker.io/attacker/toolbox:1.0\""]))]
#[case::ipv6_registry("pod_ipv6_registry", Warned(&["by \"[fd00::1]:5000/platform/net-agent\""]))]
#[case::registry_glob_in_one_label("pod_ecr_regional_registry", Warned(&["by \"602401143452.dkr.ecr.*.amazonaws.com/amazon-k8s-cni\""]))]
fn every_image_and_every_registry_form(#[case] fixture: &str, #[case] expect: Expect) {
    check(fixture, AGENT_IMAGES, expect);
}

// Rule 5: `kubectl debug` on an image-exempt host-network pod.
#[rstest]
#[case::debug_image_not_exempt("pod_ephemeralcontainers_debug_image", Rejected(&["Pod networking/cilium-x7k2p", "ephemeralContainer \"debugger-abcde\" image \"nicolaka/netshoot:v0.13\"", "kubectl debug --image=IMAGE", "add your debug image to exempt_images"]))]
#[case::debug_image_exempt("pod_ephemeralcontainers_exempt_image", Warned(&["Pod networking/cilium-x7k2p"]))]
fn ephemeral_containers_subresource(#[case] fixture: &str, #[case] expect: Expect) {
    check(fixture, IMAGES, expect);
}

/// A running pod's `hostNetwork` cannot be changed, so `kubectl debug` is never told to.
#[test]
fn a_rejected_debug_container_is_not_told_to_remove_host_network() {
    let response = run("pod_ephemeralcontainers_debug_image", IMAGES);
    let message = response.message.unwrap_or_default();
    assert!(!message.contains("Remove spec.hostNetwork"), "{message}");
}

// Rule 6: updates that leave the pod spec alone keep working.
#[rstest]
#[case::scaled("deployment_update_scaled_unchanged_pod_spec", Warned(&["Deployment default/legacy-agent keeps spec.template.spec.hostNetwork: true", "unchanged"]))]
#[case::rollout_restart("deployment_update_rollout_restart", Warned(&["keeps spec.template.spec.hostNetwork: true", "does not keep the workload running", "every ReplicaSet, Job or Pod created from it", "exempt the namespace \"default\""]))]
#[case::image_changed("deployment_update_image_changed", Rejected(&["Deployment default/legacy-agent is not allowed"]))]
#[case::host_network_turned_on("deployment_update_turns_host_network_on", Rejected(&["Deployment default/legacy-agent is not allowed"]))]
fn updates(#[case] fixture: &str, #[case] expect: Expect) {
    check(fixture, IMAGES, expect);
}

// Rule 7: the rejection message.
#[test]
fn rejection_without_image_exemptions_explains_the_way_out() {
    let message = run("deployment_host_network", NO_SETTINGS).message.unwrap();
    assert_eq!(
        message,
        "Deployment default/web is not allowed to use the host network: \
         spec.template.spec.hostNetwork is true. Remove spec.template.spec.hostNetwork, or ask a \
         cluster administrator to exempt the namespace \"default\" (exempt_namespaces) or every \
         image of the pod (exempt_images) in the host-network policy settings."
    );
}

#[test]
fn rejection_never_dumps_the_settings() {
    let message = run("daemonset_cilium_with_sidecar", IMAGES)
        .message
        .unwrap();
    assert!(!message.contains("quay.io/cilium/*"), "{message}");
    assert!(!message.contains("registry.k8s.io/kube-proxy"), "{message}");
}

#[test]
fn generated_names_are_shown_by_prefix() {
    let message = run("pod_generate_name_host_network", NO_SETTINGS)
        .message
        .unwrap();
    assert!(
        message.starts_with("Pod default/web-7d4b9c8f6-* is not allowed"),
        "{message}"
    );
}

// Rule 8: exemptions leave a warning and an audit annotation.
#[rstest]
#[case::namespace(
    "daemonset_kube_system_host_network",
    NAMESPACES,
    "exempt_namespaces: kube-system"
)]
#[case::images("daemonset_cilium_images", IMAGES, "exempt_images: quay.io/cilium/*")]
fn exemptions_are_audited(#[case] fixture: &str, #[case] settings: &str, #[case] audit: &str) {
    let response = run(fixture, settings);
    assert!(response.accepted);
    let annotations = response.audit_annotations.unwrap();
    assert_eq!(
        annotations
            .get("host-network-exemption")
            .map(String::as_str),
        Some(audit)
    );
}

// Rule 9: fail closed, never trap.
#[rstest]
#[case::host_network_string("deployment_host_network_string", Rejected(&["Deployment default/web cannot be checked for host network use: spec.template.spec.hostNetwork: invalid type: string \"true\", expected a boolean"]))]
#[case::containers_not_a_list("deployment_containers_not_a_list", Rejected(&["Deployment default/web cannot be checked", "spec.template.spec.containers: invalid type: map"]))]
#[case::duplicate_host_network_key("pod_duplicate_host_network_key", Rejected(&["Pod default/twice cannot be checked", "duplicate field `hostNetwork`"]))]
#[case::delete("pod_delete", Allowed)]
#[case::connect("pod_connect_exec", Allowed)]
fn fail_closed(#[case] fixture: &str, #[case] expect: Expect) {
    check(fixture, NO_SETTINGS, expect);
}

#[rstest]
#[case::not_json(b"not json".as_slice())]
#[case::empty(b"".as_slice())]
#[case::request_not_an_object(br#"{"request": 5, "settings": {}}"#.as_slice())]
#[case::object_not_an_object(br#"{"request": {"kind": {"kind": "Pod"}, "operation": "CREATE", "object": []}, "settings": {}}"#.as_slice())]
fn unreadable_payloads_are_rejected(#[case] payload: &[u8]) {
    let response = evaluate(payload);
    assert!(!response.accepted);
    assert!(response.message.unwrap().contains("cannot be checked"));
}

/// Settings that do not compile reject a pod on the host network; a request without one
/// never needs the settings, which policy-server has refused to load anyway.
#[test]
fn invalid_settings_reaching_validate_reject_a_pod_on_the_host_network() {
    let settings = r#"{"exempt_images": ["*"]}"#;
    let response = evaluate(&payload("pod_host_network", settings));
    assert!(!response.accepted);
    assert!(response.message.unwrap().contains("settings are not valid"));
    assert!(evaluate(&payload("pod_host_network_absent", settings)).accepted);
}
