#!/usr/bin/env bats
# The scenarios of tests/scenarios.rs against the compiled policy, run as `kwctl run` runs it.
#
#   make e2e-tests                                   # kwctl if installed, else tools/runner
#   KWCTL=kwctl POLICY=annotated-policy.wasm bats e2e.bats
#
# kwctl logs on stderr and prints the AdmissionResponse as one line of JSON on stdout, so the
# assertions read stdout only; invalid settings make it exit 1 with the reason on stderr.

bats_require_minimum_version 1.5.0

# The policy: $POLICY, else the annotated module when it was built, else policy.wasm. A path
# given relative to where bats started keeps working after setup() changes directory.
if [ -n "${POLICY:-}" ]; then
	case $POLICY in /* | *://*) ;; *) POLICY=$PWD/$POLICY ;; esac
elif [ -f "$BATS_TEST_DIRNAME/annotated-policy.wasm" ]; then
	POLICY=annotated-policy.wasm
else
	POLICY=policy.wasm
fi
# kwctl, or a stand-in taking the same arguments; a bare name is looked up on PATH.
KWCTL=${KWCTL:-kwctl}
case $KWCTL in /*) ;; */*) KWCTL=$PWD/$KWCTL ;; esac

# The settings of tests/scenarios.rs.
NAMESPACES='{"exempt_namespaces": ["kube-system", "monitoring-*"]}'
IMAGES='{"exempt_images": ["quay.io/cilium/*", "registry.k8s.io/kube-proxy", "docker.io/library/nginx", "quay.io/prometheus/node-exporter:v1.8.2", "busybox@sha256:a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", "docker.io/cilium/*"]}'

setup() {
	cd "$BATS_TEST_DIRNAME"
}

# Shown only when a test fails.
teardown() {
	echo "status: ${status-}"
	echo "stdout: ${output-}"
	echo "stderr: ${stderr-}"
}

# The AdmissionResponse: the last line of stdout that is a JSON object.
response() { grep '^{' <<<"$output" | tail -n 1; }
allowed() { response | jq -r '.allowed'; }
message() { response | jq -r '.status.message // ""'; }
warning() { response | jq -r '(.warnings // []) | join("\n")'; }
warning_count() { response | jq -r '(.warnings // []) | length'; }
audit() { response | jq -r '.auditAnnotations["host-network-exemption"] // ""'; }
# `[null,null,null]` for a plain acceptance: no status, no warning, no audit annotation.
extras() { response | jq -c '[.status, .warnings, .auditAnnotations]'; }

# contains TEXT FRAGMENT...: TEXT contains every FRAGMENT.
contains() {
	local text=$1 fragment
	shift
	for fragment in "$@"; do
		if [[ $text != *"$fragment"* ]]; then
			printf 'missing: %s\nin:      %s\n' "$fragment" "$text"
			return 1
		fi
	done
}

# lacks TEXT FRAGMENT...: TEXT contains none of the FRAGMENTs.
lacks() {
	local text=$1 fragment
	shift
	for fragment in "$@"; do
		if [[ $text == *"$fragment"* ]]; then
			printf 'unexpected: %s\nin:         %s\n' "$fragment" "$text"
			return 1
		fi
	done
}

# ---------------------------------------------------------------------------------------------
# Rule 1: hostNetwork is refused on every workload kind, wherever the kind keeps its pod spec.

@test "a Pod with hostNetwork is rejected at spec.hostNetwork" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod default/web is not allowed' 'spec.hostNetwork is true'
}

@test "a Deployment with hostNetwork is rejected at spec.template.spec.hostNetwork" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Deployment default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a ReplicaSet with hostNetwork is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/replicaset_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'ReplicaSet default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a StatefulSet with hostNetwork is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/statefulset_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'StatefulSet default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a DaemonSet with hostNetwork is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'DaemonSet default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a ReplicationController with hostNetwork is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/replicationcontroller_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'ReplicationController default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a Job with hostNetwork is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/job_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Job default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a CronJob nesting hostNetwork in its job template is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/cronjob_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'CronJob default/web is not allowed' 'spec.jobTemplate.spec.template.spec.hostNetwork is true'
}

@test "a custom kind with a pod template (Argo Rollout) is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/rollout_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Rollout default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a custom kind with a pod template (Kruise CloneSet) is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/cloneset_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'CloneSet default/web is not allowed' 'spec.template.spec.hostNetwork is true'
}

@test "a custom kind with a job template is rejected like a CronJob" {
	run --separate-stderr "$KWCTL" run --request-path test_data/custom_kind_job_template_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'ScheduledWorkload default/nightly is not allowed' 'spec.jobTemplate.spec.template.spec.hostNetwork is true'
}

@test "an object without a pod spec (ConfigMap) is accepted silently" {
	run --separate-stderr "$KWCTL" run --request-path test_data/configmap_no_pod_spec.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(extras)" = '[null,null,null]' ]
}

@test "a Pod without a spec is accepted silently" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_without_spec.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(extras)" = '[null,null,null]' ]
}

# ---------------------------------------------------------------------------------------------
# Rule 2: only `hostNetwork: true` is refused.

@test "hostNetwork false is accepted silently" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_host_network_false.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(extras)" = '[null,null,null]' ]
}

@test "an absent hostNetwork is accepted silently" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network_absent.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(extras)" = '[null,null,null]' ]
}

@test "hostNetwork null is accepted silently" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network_null.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(extras)" = '[null,null,null]' ]
}

# ---------------------------------------------------------------------------------------------
# Rule 3: namespace exemptions, exact or with a `*` wildcard, on the request's namespace.

@test "an exempt namespace is allowed with a warning and an audit annotation" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_kube_system_host_network.json --settings-json "$NAMESPACES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(warning_count)" -eq 1 ]
	contains "$(warning)" 'DaemonSet kube-system/node-agent uses the host network' 'namespace "kube-system" matches exempt_namespaces entry "kube-system"'
	[ "$(audit)" = 'exempt_namespaces: kube-system' ]
}

@test "a look-alike namespace is not exempt by an exact namespace entry" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_kube_system_evil_host_network.json --settings-json "$NAMESPACES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'DaemonSet kube-system-evil/node-agent is not allowed' 'exempt the namespace "kube-system-evil"'
}

@test "a namespace glob exempts the namespaces it matches" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_monitoring_prod_host_network.json --settings-json "$NAMESPACES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'DaemonSet monitoring-prod/node-exporter uses the host network' 'matches exempt_namespaces entry "monitoring-*"'
	[ "$(audit)" = 'exempt_namespaces: monitoring-*' ]
}

@test "a namespace glob needs its literal dash: monitoring-* does not exempt monitoring" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_monitoring_host_network.json --settings-json "$NAMESPACES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'DaemonSet monitoring/node-exporter is not allowed'
}

@test "an object namespace differing from the request namespace cannot claim an exemption" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_object_namespace_differs_from_request.json --settings-json "$NAMESPACES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod default/sneaky is not allowed' 'exempt the namespace "default"'
	lacks "$(message)" 'kube-system'
}

@test "the object namespace is used when the request carries none" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_namespace_only_in_object.json --settings-json "$NAMESPACES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'Pod kube-system/agent uses the host network'
	[ "$(audit)" = 'exempt_namespaces: kube-system' ]
}

# ---------------------------------------------------------------------------------------------
# Rule 4: an image exemption holds only when every image of the pod is exempt.

@test "a pod whose every image is exempt is allowed with a warning and an audit annotation" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_cilium_images.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(warning_count)" -eq 1 ]
	contains "$(warning)" 'DaemonSet networking/cilium uses the host network' 'every image matches exempt_images' '"quay.io/cilium/cilium:v1.15.1" by "quay.io/cilium/*"'
	# The image runs in three containers; the warning names it once.
	[ "$(grep -o 'quay.io/cilium/cilium:v1.15.1' <<<"$(warning)" | wc -l)" -eq 1 ]
	[ "$(audit)" = 'exempt_images: quay.io/cilium/*' ]
}

@test "a sidecar riding along with exempt images is rejected and named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_cilium_with_sidecar.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'DaemonSet networking/cilium is not allowed' 'Not covered by exempt_images: container "sidecar" image "docker.io/attacker/toolbox:1.0"'
	[ "$(audit)" = '' ]
}

@test "an init container riding along with exempt images is rejected and named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_cilium_with_init_container.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'initContainer "setup" image "busybox:1.36"'
}

@test "an ephemeral container riding along with exempt images is rejected and named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_cilium_with_ephemeral_container.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod networking/cilium-x7k2p is not allowed' 'ephemeralContainer "debugger" image "nicolaka/netshoot:v0.13"'
}

@test "a container without an image defeats an image exemption" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_image_missing.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'container "noimage" has no image'
}

@test "an invalid image reference defeats an image exemption" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_image_invalid.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'container "bad" image "Quay.io/Cilium/Cilium:v1" is not a valid image reference'
}

@test "a repository entry exempts every tag of that repository" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_kube_proxy.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" '"registry.k8s.io/kube-proxy:v1.30.2" by "registry.k8s.io/kube-proxy"'
	[ "$(audit)" = 'exempt_images: registry.k8s.io/kube-proxy' ]
}

@test "a look-alike repository is not exempt by a repository entry" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_kube_proxy_lookalike_repository.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'image "registry.k8s.io/kube-proxy-evil:v1.30.2"'
}

@test "a look-alike registry host is not exempt by a registry in an entry" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_kube_proxy_lookalike_registry.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'image "registry.k8s.io.evil.com/kube-proxy:v1.30.2"'
}

@test "an uppercase registry host matches its lowercase entry (hosts are case-insensitive)" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_kube_proxy_registry_uppercase.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" '"REGISTRY.K8S.IO/kube-proxy:v1.30.2" by "registry.k8s.io/kube-proxy"'
	[ "$(audit)" = 'exempt_images: registry.k8s.io/kube-proxy' ]
}

@test "a short image name is normalised to docker.io/library before matching" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_nginx_short_name.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" '"nginx" by "docker.io/library/nginx"'
	[ "$(audit)" = 'exempt_images: docker.io/library/nginx' ]
}

@test "an official image entry does not exempt the same name in another Docker Hub namespace" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_nginx_lookalike_namespace.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'image "docker.io/evil/nginx:1.27"'
}

@test "a tag entry exempts exactly that tag" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_node_exporter_tag.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'by "quay.io/prometheus/node-exporter:v1.8.2"'
	[ "$(audit)" = 'exempt_images: quay.io/prometheus/node-exporter:v1.8.2' ]
}

@test "a tag entry does not vouch for an image pinned by tag and digest" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_node_exporter_tag_with_digest.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'node-exporter:v1.8.2@sha256:'
}

@test "a digest entry exempts exactly that digest" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_busybox_digest.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'by "busybox@sha256:a1a1'
	contains "$(audit)" 'exempt_images: busybox@sha256:a1a1'
}

@test "a digest entry does not exempt another digest of the same repository" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_busybox_other_digest.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'busybox@sha256:b2b2'
}

@test "an image glob is not a prefix of a look-alike namespace (cilium/* vs cilium-evil)" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_cilium_namespace_lookalike.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'image "docker.io/cilium-evil/cilium:v1.15"'
}

@test "an image glob does not cross a slash into a nested path" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_cilium_nested_path.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'image "docker.io/cilium/extra/cilium:v1.15"'
}

# Every image of the pod counts, image volumes included; IPv6 and regional registries.
AGENT_IMAGES='{"exempt_images": ["registry.k8s.io/kube-proxy", "ghcr.io/acme/**", "[fd00::1]:5000/platform/net-agent", "602401143452.dkr.ecr.*.amazonaws.com/amazon-k8s-cni"]}'

@test "an image volume that is not exempt keeps the pod from being exempt" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_image_volume_not_exempt.json --settings-json "$AGENT_IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Not covered by exempt_images: volume "tools" image "docker.io/attacker/toolbox:1.0"'
}

@test "a pod whose containers and image volumes are all exempt is allowed with a warning" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_image_volume_exempt.json --settings-json "$AGENT_IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" '"ghcr.io/acme/agent-tools:1.4" by "ghcr.io/acme/**"'
	[ "$(audit)" = 'exempt_images: registry.k8s.io/kube-proxy, ghcr.io/acme/**' ]
}

@test "an image on an IPv6 registry can be exempted" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_ipv6_registry.json --settings-json "$AGENT_IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'by "[fd00::1]:5000/platform/net-agent"'
}

@test "a registry glob matches within one DNS label" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_ecr_regional_registry.json --settings-json "$AGENT_IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
}

@test "an image ID entry is refused by validate_settings" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network_absent.json \
		--settings-json '{"exempt_images": ["sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'exempt_images[0]' 'is an image ID'
}

# ---------------------------------------------------------------------------------------------
# Rule 5: `kubectl debug` (pods/ephemeralcontainers) on an image-exempt host-network pod.

@test "kubectl debug with an image that is not exempt is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_ephemeralcontainers_debug_image.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod networking/cilium-x7k2p is not allowed' 'ephemeralContainer "debugger-abcde" image "nicolaka/netshoot:v0.13"' \
		'kubectl debug --image=IMAGE' 'add your debug image to exempt_images'
	[[ $(message) != *'Remove spec.hostNetwork'* ]]
}

@test "kubectl debug with an exempt image is allowed with a warning" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_ephemeralcontainers_exempt_image.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'Pod networking/cilium-x7k2p uses the host network'
	[ "$(audit)" = 'exempt_images: quay.io/cilium/*' ]
}

# ---------------------------------------------------------------------------------------------
# Rule 6: an UPDATE that leaves an existing host-network pod spec alone keeps working.

@test "scaling a host-network Deployment with an unchanged pod spec is allowed with a warning" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_update_scaled_unchanged_pod_spec.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'Deployment default/legacy-agent keeps spec.template.spec.hostNetwork: true' 'unchanged'
	# Nothing was exempted, so nothing is audited as an exemption.
	[ "$(audit)" = '' ]
}

@test "a rollout restart (template annotation only) is allowed with a warning" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_update_rollout_restart.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	contains "$(warning)" 'keeps spec.template.spec.hostNetwork: true' 'does not keep the workload running' \
		'every ReplicaSet, Job or Pod created from it'
}

@test "an UPDATE swapping the image of a host-network Deployment is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_update_image_changed.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Deployment default/legacy-agent is not allowed' 'image "ghcr.io/acme/agent:2.2"'
}

@test "an UPDATE turning hostNetwork on is rejected" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_update_turns_host_network_on.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Deployment default/legacy-agent is not allowed' 'spec.template.spec.hostNetwork is true'
}

# ---------------------------------------------------------------------------------------------
# Rule 7: the rejection names the workload, the field and the way out, never the settings.

@test "the rejection names the workload, the field and the way out, and nothing else" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(message)" = 'Deployment default/web is not allowed to use the host network: spec.template.spec.hostNetwork is true. Remove spec.template.spec.hostNetwork, or ask a cluster administrator to exempt the namespace "default" (exempt_namespaces) or every image of the pod (exempt_images) in the host-network policy settings.' ]
	[ "$(response | jq -c '[.allowed, .warnings, .auditAnnotations]')" = '[false,null,null]' ]
}

@test "the rejection never dumps the exemption settings" {
	run --separate-stderr "$KWCTL" run --request-path test_data/daemonset_cilium_with_sidecar.json --settings-json "$IMAGES" "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	lacks "$(message)" 'quay.io/cilium/*' 'registry.k8s.io/kube-proxy'
}

@test "a pod named by generateName is shown by its prefix" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_generate_name_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod default/web-7d4b9c8f6-* is not allowed'
}

# ---------------------------------------------------------------------------------------------
# Rule 9: fail closed on what cannot be read; never trap.

@test "hostNetwork given as the string \"true\" is rejected as unreadable" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_host_network_string.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Deployment default/web cannot be checked for host network use' 'spec.template.spec.hostNetwork: invalid type: string "true", expected a boolean'
}

@test "containers given as a map instead of a list is rejected as unreadable" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_containers_not_a_list.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Deployment default/web cannot be checked' 'spec.template.spec.containers: invalid type: map'
}

@test "a duplicated hostNetwork key cannot sneak the pod in" {
	# kwctl parses the request file before calling the policy, so the last key (true) wins and
	# the policy sees `hostNetwork: true`; the policy's own duplicate-key refusal is pinned by
	# tests/scenarios.rs. Either way the pod must not get in.
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_duplicate_host_network_key.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod default/twice'
}

@test "a DELETE is accepted silently" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_delete.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(extras)" = '[null,null,null]' ]
}

@test "a CONNECT (kubectl exec) is accepted silently" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_connect_exec.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = true ]
	[ "$(extras)" = '[null,null,null]' ]
}

@test "a whole AdmissionReview is handled like the bare request" {
	run --separate-stderr "$KWCTL" run --request-path test_data/deployment_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	local bare
	bare=$(response | jq -cS .)
	run --separate-stderr "$KWCTL" run --request-path test_data/admission_review_deployment_host_network.json --settings-json '{}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Deployment default/web is not allowed'
	[ "$(response | jq -cS .)" = "$bare" ]
}

# ---------------------------------------------------------------------------------------------
# Settings: kwctl refuses invalid settings before any request, naming the key or the entry.

@test "settings with a misspelt key (exempt_namespace) are refused and the key named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespace": ["kube-system"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'unknown field `exempt_namespace`'
}

@test "a bare * namespace entry is refused" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespaces": ["*"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_namespaces[0]' 'matches every namespace'
}

@test "a bare * image entry is refused" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_images": ["*"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_images[0]' 'matches every image'
}

@test "a bare ** image entry is refused" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_images": ["**"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_images[0]' '**' 'matches every image'
}

@test "an uppercase namespace entry is refused and named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespaces": ["ok", "Kube-System"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_namespaces[1]' 'Kube-System' "contains 'K'"
}

@test "an empty namespace entry is refused" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespaces": [""]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_namespaces[0]' 'is empty'
}

@test "a namespace entry longer than 63 characters is refused" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json "{\"exempt_namespaces\": [\"$(printf 'a%.0s' {1..64})\"]}" "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_namespaces[0]' 'longer than the 63'
}

@test "an invalid image entry is refused and named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_images": ["nginx", "Nginx:latest"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_images[1]' 'Nginx:latest' 'is not a valid image reference or pattern'
}

@test "a string where a list is expected is refused and the key named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_images": "nginx"}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_images' 'invalid type: string' 'expected a sequence'
}

@test "a number among namespace entries is refused and its index named" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespaces": ["a", 5]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_namespaces[1]' 'invalid type: integer'
}

@test "every refused entry is reported at once, and only those" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespaces": ["*"], "exempt_images": ["", "ok", "**"]}' "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'exempt_namespaces[0]' 'exempt_images[0]' 'exempt_images[2]'
	lacks "$stderr" 'exempt_images[1]'
}

@test "null lists (as Helm writes an emptied list) are valid and exempt nothing" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespaces": null, "exempt_images": null}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod default/web is not allowed'
}

# ---------------------------------------------------------------------------------------------
# The bypass corpus (tests/bypass.rs natively): every request in test_data/bypass/ tries to get
# hostNetwork past the exemptions of test_data/bypass/settings.json (or the settings file its
# entry in reasons.json names), and each must be rejected for the reason reasons.json gives.
# A file the host cannot read as JSON (kwctl refuses a lone surrogate escape) is skipped there.

@test "every request of the bypass corpus is rejected for its reason" {
	local file name reason settings response message wrong=() rejected=0 unread=() skipped=()
	local table=test_data/bypass/reasons.json
	for file in test_data/bypass/*.json; do
		name=$(basename "$file")
		case $name in settings*.json | reasons.json) continue ;; esac
		# The host keeps only the last of repeated keys, so where that changes the request,
		# `through_host` says what it must be rejected for; null: the host sends no attack.
		if [ "$(jq -r --arg f "$name" '.[$f] | type == "object" and has("through_host") and .through_host == null' "$table")" = true ]; then
			skipped+=("$name")
			continue
		fi
		reason=$(jq -r --arg f "$name" '.[$f] | if type == "object" then (.through_host // .reason) else (. // "") end' "$table")
		settings=$(jq -r --arg f "$name" '.[$f] | if type == "object" then (.settings // "settings.json") else "settings.json" end' "$table")
		[ -n "$reason" ] || { wrong+=("$name: no reason in reasons.json"); continue; }
		response=$("$KWCTL" run --request-path "$file" --settings-path "test_data/bypass/$settings" "$POLICY" 2>/dev/null | grep '^{' | tail -n 1) || true
		case $response in
		*'"allowed":false'*)
			message=$(jq -r '.status.message // ""' <<<"$response")
			if [[ $message == *"$reason"* ]]; then
				rejected=$((rejected + 1))
			else
				wrong+=("$name: rejected, but not for $reason: $message")
			fi
			;;
		*'"allowed":true'*) wrong+=("$name: ALLOWED") ;;
		*) unread+=("$name") ;;
		esac
	done
	if [ "${#unread[@]}" -gt 0 ]; then
		printf 'not read by the host: %s\n' "${unread[@]}"
	fi
	if [ "${#skipped[@]}" -gt 0 ]; then
		printf 'no attack once the host has read it: %s\n' "${skipped[@]}"
	fi
	if [ "${#wrong[@]}" -gt 0 ]; then
		printf '%s\n' "${wrong[@]}"
		return 1
	fi
	# The corpus holds at least 30 attacks; a broken host must not pass for a safe policy.
	[ "$rejected" -ge 30 ]
}

# ---------------------------------------------------------------------------------------------
# Every example's settings pass the policy's own settings validation.

# settings_of FILE N: the `spec.settings` block of the Nth policy (from 0) in a manifest of
# documents separated by `---`, as a YAML document. Every policy ends with that block,
# indented four spaces under `settings:`.
settings_of() {
	awk -v want="$2" 'BEGIN { doc = 0 } /^---/ { doc++; on = 0; next }
		doc == want && /^  settings:/ { on = 1; next } on && /^[^ #]|^  [^ #]/ { on = 0 }
		on { sub(/^    /, ""); print }' "$1"
}

@test "every example's settings are accepted by the policy's validate_settings" {
	local example settings documents at count=0
	for example in examples/*.yaml; do
		documents=$(($(grep -c '^---' "$example" || true) + 1))
		for ((at = 0; at < documents; at++)); do
			settings=$BATS_TEST_TMPDIR/$(basename "$example" .yaml).$at.settings.yml
			settings_of "$example" "$at" >"$settings"
			contains "$(cat "$settings")" "exempt_" || { echo "no settings found in $example #$at"; return 1; }
			run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network_absent.json \
				--settings-path "$settings" "$POLICY"
			[ "$status" -eq 0 ] || { echo "$example #$at: settings refused: $stderr"; return 1; }
			[ "$(allowed)" = true ]
			count=$((count + 1))
		done
	done
	[ "$count" -ge 7 ]
}

@test "settings with more than 128 image entries are refused, naming the key and the limit" {
	local entries
	entries=$(seq 0 128 | sed 's|.*|"registry.example.com/team/agent-&"|' | paste -sd, -)
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network_absent.json \
		--settings-json "{\"exempt_images\": [$entries]}" "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" 'Provided settings are not valid' 'exempt_images has 129 entries; at most 128 are allowed'
}

@test "a settings file with an invalid entry is refused through --settings-path too" {
	settings=$BATS_TEST_TMPDIR/bad.yml
	printf 'exempt_images:\n  - "**"\n' >"$settings"
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network_absent.json \
		--settings-path "$settings" "$POLICY"
	[ "$status" -eq 1 ]
	contains "$stderr" "Provided settings are not valid" "exempt_images[0]" "matches every image"
}

# The module users pull is policy.wasm (annotation only adds metadata); the inline threshold
# chosen in the Makefile leaves it some room under 500 KB, not much: this keeps it honest.
@test "policy.wasm is at most 500 KB" {
	[ -f policy.wasm ] || skip "policy.wasm is not built"
	size=$(wc -c <policy.wasm)
	echo "policy.wasm: $size bytes"
	[ "$size" -le 500000 ]
}

# ---------------------------------------------------------------------------------------------
# Release: the module published names the repository it comes from, never the placeholder, and
# the OCI URL it embeds is the one it is pushed to. These run the Makefile's release steps with
# the annotated module and the rendered metadata kept in the test's own directory.

release() {
	run --separate-stderr make -s --no-print-directory release-check \
		ANNOTATED="$BATS_TEST_TMPDIR/annotated.wasm" RENDERED="$BATS_TEST_TMPDIR/rendered" "$@"
}

@test "release: the annotated module names the release's repository and is pushed where it says" {
	release GITHUB_REPOSITORY=Acme-Corp/host-network-policy AUTHOR='Acme Platform <platform@acme.test>'
	[ "$status" -eq 0 ]
	contains "$output" "ociUrl ghcr.io/acme-corp/policies/host-network, no placeholder"
	embedded=$("$KWCTL" inspect -o yaml "file://$BATS_TEST_TMPDIR/annotated.wasm")
	contains "$embedded" "io.kubewarden.policy.source: https://github.com/Acme-Corp/host-network-policy" \
		"Acme Platform <platform@acme.test>" "registry://ghcr.io/acme-corp/policies/host-network:v"
	lacks "$embedded" "ghcr.io/example/" "github.com/example/" "maintainers@example.com"
}

@test "release: a module with the placeholder organisation is refused" {
	release AUTHOR='Acme Platform <platform@acme.test>'
	[ "$status" -ne 0 ]
	contains "$stderr" "still names the placeholder 'ghcr.io/example/policies/host-network'" "GITHUB_REPOSITORY"
}

@test "release: a module with the placeholder author is refused" {
	release GITHUB_REPOSITORY=acme/host-network-policy
	[ "$status" -ne 0 ]
	contains "$stderr" "still names the placeholder 'Host Network Policy maintainers <maintainers@example.com>'" "AUTHOR"
}

@test "release: a module annotated for one repository is not pushed to another" {
	release GITHUB_REPOSITORY=acme/host-network-policy AUTHOR='A <a@acme.test>'
	[ "$status" -eq 0 ]
	release -o policy.wasm -o "$BATS_TEST_TMPDIR/annotated.wasm" GITHUB_REPOSITORY=acme/host-network-policy \
		AUTHOR='A <a@acme.test>' OCI_REPOSITORY=ghcr.io/someone-else/host-network
	[ "$status" -ne 0 ]
	contains "$stderr" "says io.kubewarden.policy.ociUrl is 'ghcr.io/acme/policies/host-network'" \
		"pushed to 'ghcr.io/someone-else/host-network'"
}
