#!/usr/bin/env bats
# `runner audit`: manifests and cluster dumps judged by the compiled policy, as Kubewarden's
# audit scanner replays them.
#
#   make audit-tests
#
# The policy's rules come from metadata.yml, since policy.wasm is not annotated.

bats_require_minimum_version 1.5.0

RUNNER=${RUNNER:-target/release/runner}
case $RUNNER in /*) ;; *) RUNNER=$PWD/$RUNNER ;; esac
POLICY=${POLICY:-policy.wasm}
case $POLICY in /* | *://*) ;; *) POLICY=$PWD/$POLICY ;; esac

setup() {
	cd "$BATS_TEST_DIRNAME"
}

teardown() {
	echo "status: ${status-}"
	echo "stdout: ${output-}"
	echo "stderr: ${stderr-}"
}

audit() {
	run --separate-stderr "$RUNNER" audit --metadata-path metadata.yml "$@"
}

# The record of one object in `-o json` output.
record() { jq -c --arg name "$1" '.results[] | select(.name == $name)' <<<"$output"; }

@test "audit: a manifests folder is judged document by document, and a rejection fails the run" {
	audit "$POLICY" test_data/audit/manifests
	[ "$status" -eq 1 ]
	[[ $output == *"DaemonSet   kube-system/cilium  rejected"* ]]
	[[ $output == *"Deployment  default/web         rejected"* ]]
	# The policy's own message follows each rejection.
	[[ $output == *"    Deployment default/web is not allowed to use the host network"* ]]
	[[ $output != *"default/api"* ]]
	[[ $output == *"3 judged: 2 rejected, 1 not host network. 2 of kinds the policy does not judge (ConfigMap 1, Service 1)."* ]]
	[ -z "$stderr" ]
}

@test "audit: an exemption names its entry, and --exit-zero only reports" {
	audit --settings-json '{"exempt_images": ["quay.io/cilium/*"]}' "$POLICY" test_data/audit/manifests
	[ "$status" -eq 1 ]
	[[ $output == *"kube-system/cilium  exempt by exempt_images: quay.io/cilium/*"* ]]
	[[ $output == *"3 judged: 1 rejected, 1 exempt, 1 not host network."* ]]

	audit --exit-zero --settings-json '{"exempt_images": ["quay.io/cilium/*"]}' "$POLICY" test_data/audit/manifests
	[ "$status" -eq 0 ]
	[[ $output == *"1 rejected"* ]]
}

@test "audit: nothing rejected exits 0" {
	audit --settings-json '{"exempt_namespaces": ["default", "kube-system"]}' "$POLICY" test_data/audit/manifests
	[ "$status" -eq 0 ]
	[[ $output == *"3 judged: 2 exempt, 1 not host network."* ]]
}

@test "audit: a kubectl List read from standard input, reported as JSON with the policy's answers" {
	run --separate-stderr bash -c "'$RUNNER' audit --metadata-path metadata.yml -o json \
		--settings-json '{\"exempt_images\": [\"registry.k8s.io/kube-proxy:*\"]}' '$POLICY' - <test_data/audit/pods.json"
	[ "$status" -eq 1 ]
	[ "$(jq '.results | length' <<<"$output")" -eq 3 ]
	[ "$(record kube-proxy-7xk2p | jq -r '.verdict')" = exempt ]
	[ "$(record kube-proxy-7xk2p | jq -r '.auditAnnotations["host-network-exemption"]')" = "exempt_images: registry.k8s.io/kube-proxy:*" ]
	[[ $(record kube-proxy-7xk2p | jq -r '.warnings[0]') == "Pod kube-system/kube-proxy-7xk2p uses the host network; allowed because"* ]]
	[ "$(record web-5d9c7b6f4-abcde | jq -r '.verdict')" = allowed ]
	[ "$(record debug-agent | jq -r '.verdict')" = rejected ]
	[[ $(record debug-agent | jq -r '.message') == "Pod default/debug-agent is not allowed to use the host network"* ]]
	# Each item is located in the dump.
	[ "$(record debug-agent | jq -c '[.source, .document, .line]')" = '["-",1,23]' ]
}

@test "audit: the same answer as kwctl run gives for the request the audit scanner builds" {
	audit -o json "$POLICY" test_data/audit/pods.json
	from_audit=$(record debug-agent | jq -r '.message')
	request=$BATS_TEST_TMPDIR/request.json
	jq '{uid: "x", kind: {group: "", version: "v1", kind: "Pod"},
		resource: {group: "", version: "v1", resource: "Pod"}, operation: "CREATE",
		name: .items[2].metadata.name, namespace: .items[2].metadata.namespace,
		userInfo: {}, object: .items[2]}' test_data/audit/pods.json >"$request"
	run --separate-stderr "$RUNNER" run --request-path "$request" "$POLICY"
	[ "$(jq -r '.status.message' <<<"$output")" = "$from_audit" ]
}

@test "audit: unreadable documents are named with their line, the rest is judged, and the run exits 2" {
	audit -o json "$POLICY" test_data/audit/broken.yaml
	[ "$status" -eq 2 ]
	[ "$(jq -r '.results[].name' <<<"$output")" = fine ]
	[ "$(jq -c '[.problems[] | [.document, .line]]' <<<"$output")" = '[[2,14],[3,14]]' ]
	[[ $stderr == *"error: test_data/audit/broken.yaml: document 2 (line 14): is not YAML"*"flow sequence at line 13 column 11"* ]]
	[[ $stderr == *"error: test_data/audit/broken.yaml: document 3 (line 14): is an object without \`kind\`"* ]]
}

@test "audit: a missing input and invalid settings exit 2" {
	audit "$POLICY" test_data/audit/no-such-file.yaml
	[ "$status" -eq 2 ]
	[[ $stderr == *"no-such-file.yaml"*"cannot read"* ]]

	audit --settings-json '{"exempt_images": "quay.io/cilium/*"}' "$POLICY" test_data/audit/manifests
	[ "$status" -eq 2 ]
	[[ $stderr == *"Provided settings are not valid"* ]]
}

@test "audit: the rules come from the module's embedded metadata when it is annotated" {
	annotated=$BATS_TEST_TMPDIR/annotated.wasm
	"$RUNNER" annotate --metadata-path metadata.yml --output-path "$annotated" "$POLICY"
	run --separate-stderr "$RUNNER" audit "file://$annotated" test_data/audit/manifests
	[ "$status" -eq 1 ]
	[[ $output == *"3 judged: 2 rejected"* ]]

	run --separate-stderr "$RUNNER" audit "$POLICY" test_data/audit/manifests
	[ "$status" -eq 2 ]
	[[ $stderr == *"has no embedded metadata"*"--metadata-path"* ]]
}

@test "audit: the README's example run prints what the README shows" {
	expected=$(awk '/^\$ target\/release\/runner audit/ { shown = 1; next }
		shown && /^```/ { exit }
		shown && !/^    (--settings-json|policy\.wasm) / { print }' README.md)
	[ -n "$expected" ]
	audit --settings-json '{"exempt_images": ["registry.k8s.io/kube-proxy:*"]}' \
		"$POLICY" test_data/audit/manifests test_data/audit/pods.json
	[ "$status" -eq 1 ]
	diff <(echo "$expected") <(echo "$output")
}

@test "audit: a policy manifest gives the settings, the rules and the namespaces it sees" {
	# The monitor-mode example exempts kube-system; its own rules are used, so the
	# unannotated module needs no metadata.
	run --separate-stderr "$RUNNER" audit --policy-manifest examples/monitor-mode-cluster-admission-policy.yaml \
		"$POLICY" test_data/audit/manifests
	[ "$status" -eq 1 ]
	[[ $output == *"kube-system/cilium  exempt by exempt_namespaces: kube-system"* ]]
	[[ $output == *"3 judged: 1 rejected, 1 exempt, 1 not host network."* ]]

	# An AdmissionPolicy sees its own namespace only.
	run --separate-stderr "$RUNNER" audit --policy-manifest examples/namespaced-admission-policy.yaml \
		"$POLICY" test_data/audit/manifests test_data/audit/pods.json
	[ "$status" -eq 0 ]
	[[ $output == "0 judged. 2 of kinds the policy does not judge (ConfigMap 1, Service 1). 6 in namespaces the policy does not see." ]]

	run --separate-stderr "$RUNNER" audit --policy-manifest examples/per-namespace-images-cluster-admission-policies.yaml \
		"$POLICY" test_data/audit/pods.json
	[ "$status" -eq 2 ]
	[[ $stderr == *"holds 2 policies (host-network-kube-system, host-network)"* ]]
}
