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
	[[ $output == *"DaemonSet   kube-system/cilium    rejected  quay.io/cilium/cilium:v1.15.1"* ]]
	[[ $output == *"Deployment  default/web           rejected  docker.io/library/nginx:1.27"* ]]
	# A List's items are judged one by one, the images of each named once.
	[[ $output == *"DaemonSet   kube-system/csi-node  rejected  registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.12.0, ghcr.io/acme/csi-driver:1.4.0"* ]]
	# The policy's own message follows each rejection.
	[[ $output == *"    Deployment default/web is not allowed to use the host network"* ]]
	[[ $output != *"default/api"* ]]
	[[ $output == *"4 judged: 3 rejected, 1 not host network. 3 of kinds the policy does not judge (ConfigMap 2, Service 1)."* ]]
	[ -z "$stderr" ]
}

@test "audit: an exemption names its entry, and --exit-zero only reports" {
	audit --settings-json '{"exempt_images": ["quay.io/cilium/*"]}' "$POLICY" test_data/audit/manifests
	[ "$status" -eq 1 ]
	[[ $output == *"kube-system/cilium    exempt by exempt_images: quay.io/cilium/*"* ]]
	[[ $output == *"4 judged: 2 rejected, 1 exempt, 1 not host network."* ]]

	audit --exit-zero --settings-json '{"exempt_images": ["quay.io/cilium/*"]}' "$POLICY" test_data/audit/manifests
	[ "$status" -eq 0 ]
	[[ $output == *"2 rejected"* ]]
}

@test "audit: nothing rejected exits 0" {
	audit --settings-json '{"exempt_namespaces": ["default", "kube-system"]}' "$POLICY" test_data/audit/manifests
	[ "$status" -eq 0 ]
	[[ $output == *"4 judged: 3 exempt, 1 not host network."* ]]
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

@test "audit: each kind of unreadable document is named with its line, the rest is judged, and the run exits 2" {
	before=$(sha256sum test_data/audit/broken.yaml test_data/audit/broken.json)
	audit -o json "$POLICY" test_data/audit/broken.yaml test_data/audit/broken.json
	[ "$status" -eq 2 ]
	# The objects between the broken documents, a List's good item among them, are judged.
	[ "$(jq -c '[.results[].name]' <<<"$output")" = '["fine","also-fine","in-a-list","unreadable-to-the-policy","json-fine"]' ]
	# A document that does not parse is located where the parser stopped; the others where
	# they start.
	[ "$(jq -c '[.problems[] | [.source, .document, .line]]' <<<"$output")" = '[["test_data/audit/broken.yaml",2,14],["test_data/audit/broken.yaml",3,14],["test_data/audit/broken.yaml",4,18],["test_data/audit/broken.yaml",6,31],["test_data/audit/broken.yaml",7,35],["test_data/audit/broken.yaml",8,49],["test_data/audit/broken.json",2,2],["test_data/audit/broken.json",3,4]]' ]
	for expected in \
		"test_data/audit/broken.yaml: document 2 (line 14): is not YAML: did not find expected ',' or ']' at line 14 column 1, while parsing a flow sequence at line 13 column 11" \
		"test_data/audit/broken.yaml: document 3 (line 14): is an object without \`kind\`" \
		"test_data/audit/broken.yaml: document 4 (line 18): is not an object" \
		"test_data/audit/broken.yaml: document 6 (line 31): is a List whose \`items\` is not an array" \
		"test_data/audit/broken.yaml: document 7 (line 35): is a List item that is not an object" \
		"test_data/audit/broken.yaml: document 8 (line 49): has an unreadable \`kind\`, \`apiVersion\` or \`metadata\`" \
		"test_data/audit/broken.json: document 2 (line 2): is not an object" \
		"test_data/audit/broken.json: document 3 (line 4): is not JSON: EOF while parsing a value at line 4 column 0"; do
		[[ $stderr == *"error: $expected"* ]] || { echo "missing: $expected"; false; }
	done
	# An object the policy cannot read is judged, and rejected with the policy's own message,
	# as in a cluster; it is not an input problem.
	[[ $(record unreadable-to-the-policy | jq -r '.verdict + ": " + .message') == "rejected: Pod default/unreadable-to-the-policy cannot be checked for host network use: spec.containers: invalid type"*"The host-network policy rejects objects it cannot read." ]]
	[ "$(jq -r .summary <<<"$output")" = "5 judged: 1 rejected, 4 not host network. 8 unreadable (listed on standard error)." ]
	# Nothing in the input is changed.
	[ "$(sha256sum test_data/audit/broken.yaml test_data/audit/broken.json)" = "$before" ]
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
	[[ $output == *"4 judged: 3 rejected"* ]]

	run --separate-stderr "$RUNNER" audit "$POLICY" test_data/audit/manifests
	[ "$status" -eq 2 ]
	[[ $stderr == *"has no embedded metadata"*"--metadata-path"* ]]
}

# The output the README shows for its Nth `runner audit` run: the lines after the command
# and its continuation lines, up to the end of the block.
readme_run() {
	awk -v want="$1" '/^\$ host-network-policy audit/ { n++; if (n == want) { shown = 1; more = /\\$/ }; next }
		shown && more { more = /\\$/; next }
		shown && /^```/ { exit }
		shown { print }' README.md
}

@test "audit: the README's example runs print what the README shows" {
	expected=$(readme_run 1)
	[ -n "$expected" ]
	audit --settings-json '{"exempt_images": ["602401143452.dkr.ecr.*.amazonaws.com/eks/kube-proxy"]}' \
		"$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 1 ]
	diff <(echo "$expected") <(echo "$output")

	expected=$(readme_run 2)
	[ -n "$expected" ]
	audit --settings-json '{"exempt_images": ["602401143452.dkr.ecr.*.amazonaws.com/eks/kube-proxy"]}' \
		--suggest-settings "$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 0 ]
	diff <(echo "$expected") <(echo "$output")
}

@test "audit: a cluster dump reads as workloads, and what differs from its owner is listed on its own" {
	audit -o json "$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 1 ]
	# Pods and the current ReplicaSet under the Deployment; the old ReplicaSet, whose
	# template the Deployment has moved on from, with its own pod.
	[ "$(record web-5d9c7b6f4-abcde | jq -r .groupedUnder)" = "Deployment shop/web" ]
	[ "$(record web-5d9c7b6f4 | jq -r .groupedUnder)" = "Deployment shop/web" ]
	[ "$(record web | jq -c .members)" = '{"Pod":2,"ReplicaSet":1}' ]
	[ "$(record web-7c6d8f9b5 | jq -r .groupedUnder)" = null ]
	[ "$(record web-7c6d8f9b5-klmno | jq -r .groupedUnder)" = "ReplicaSet shop/web-7c6d8f9b5" ]
	# Filled in by the API server and the kubelet, nodeName and the token volume set no pod
	# apart; a debug container does.
	[ "$(record aws-node-4x7km | jq -r .groupedUnder)" = "DaemonSet kube-system/aws-node" ]
	[ "$(record aws-node-h8t5w | jq -r .groupedUnder)" = null ]
	[ "$(record aws-node-h8t5w | jq -r '.notExempt[-1].image')" = docker.io/library/busybox:1.36 ]
	# CronJob, Job, Pod: not on the host network, grouped all the same.
	[ "$(record backup-29401234-x8k2m | jq -r .groupedUnder)" = "CronJob shop/backup" ]
	# A pod run by hand has no owner to be listed under.
	[ "$(record debug-shell | jq -r '[.verdict, .groupedUnder] | join(" ")')" = "rejected " ]
	[ "$(jq -r .summary <<<"$output")" = "26 judged: 19 rejected, 7 not host network. 16 listed under their controller, whose template they agree with. 1 of kinds the policy does not judge (Service 1)." ]

	# The table lists the owners, with their pods counted, and what stands apart.
	audit "$POLICY" test_data/audit/cluster.json
	[[ $output == *"DaemonSet   kube-system/aws-node (1 pod)                 rejected  602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1, "* ]]
	[[ $output == *"Pod         kube-system/aws-node-h8t5w                   rejected  "*", docker.io/library/busybox:1.36"* ]]
	[[ $output != *"aws-node-4x7km"* ]]
	[[ $output != *"coredns"* ]]
}

@test "audit: the suggested settings admit everything found, on a second run, and nothing else" {
	settings=$BATS_TEST_TMPDIR/settings.yaml
	audit --suggest-settings "$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 0 ]
	echo "$output" >"$settings"
	# The narrowest entries, written in full; the add-ons the EKS example exempts come
	# first, apart from the findings.
	[[ $output == *"--- Suggested: node agents, as the examples exempt them ---"*"# DaemonSet kube-system/kube-proxy; as in examples/eks-cluster-admission-policy.yaml"$'\n'"  - 602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.31.2-minimal-eksbuild.3"*"--- Suggested: found on the host network ---"*"# Pod kube-system/aws-node-h8t5w, Pod default/debug-shell"$'\n'"  - docker.io/library/busybox:1.36"*"# Deployment shop/web"$'\n'"  - docker.io/library/nginx:1.27"* ]]
	# Each workload is named once, by its owner, not by every pod.
	[[ $output != *"aws-node-4x7km"* ]]
	[[ $stderr == *"26 judged: 19 rejected"* ]]

	audit --settings-path "$settings" "$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 0 ]
	[[ $output == *"26 judged: 19 exempt, 7 not host network."* ]]

	# Nothing beyond what was found: another tag, a look-alike repository, the same image
	# in another account's registry.
	for image in docker.io/library/nginx:1.28 docker.io/evil/busybox:1.36 \
		111122223333.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.31.2-minimal-eksbuild.3; do
		pod='{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other", "namespace": "shop"},
			"spec": {"hostNetwork": true, "containers": [{"name": "c", "image": "'$image'"}]}}'
		run --separate-stderr bash -c "'$RUNNER' audit --metadata-path metadata.yml --settings-path '$settings' '$POLICY' - <<<'$pod'"
		[ "$status" -eq 1 ]
		[[ $output == *"Pod   shop/other      rejected  $image"* ]]
	done
}

@test "audit: --suggest-by repository and --suggest-namespaces widen the entries" {
	audit --suggest-settings --suggest-by repository "$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 0 ]
	[[ $output == *"  - 602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni"$'\n'* ]]
	[[ $output == *"  - docker.io/library/nginx"$'\n'* ]]
	[[ $output != *"nginx:1.2"* ]]

	audit --suggest-settings --suggest-namespaces "$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 0 ]
	[[ $output == *"exempt_namespaces:"*"  - default"*"  - kube-system"*"  - monitoring"*"  - shop"* ]]
	[[ $output != *"exempt_images:"* ]]

	# Only with --suggest-settings.
	audit --suggest-namespaces "$POLICY" test_data/audit/cluster.json
	[ "$status" -eq 2 ]
	[[ $stderr == *"--suggest-settings"* ]]
}

@test "audit: what no entry can admit is said with the policy's message, and the run exits 1" {
	pod='{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "odd", "namespace": "default"},
		"spec": {"hostNetwork": true, "containers": [{"name": "a", "image": "Nginx"}, {"name": "b"},
		{"name": "c", "image": "nginx:1.27"}]}}'
	# Under short_names: not-exempt, no entry exempts an image written without its registry.
	run --separate-stderr bash -c "'$RUNNER' audit --metadata-path metadata.yml --suggest-settings \
		--settings-json '{\"short_names\": \"not-exempt\"}' '$POLICY' - <<<'$pod'"
	[ "$status" -eq 1 ]
	[[ $output == *"# No image entry can admit:"*'Pod default/odd: container "a" image "Nginx"'*'Pod default/odd: container "b" names no image'*'Pod default/odd: image "nginx:1.27" is not exempt even by "docker.io/library/nginx:1.27" (short_names: not-exempt; write the image with its registry)'* ]]
	[[ $output == *"# Still rejected with these settings:"*"Pod default/odd is not allowed to use the host network"* ]]
	[[ $output != *"exempt_images:"* ]]
	[[ $output == *"short_names: not-exempt"* ]]
}

@test "audit: a policy manifest gives the settings, the rules and the namespaces it sees" {
	# The monitor-mode example exempts kube-system; its own rules are used, so the
	# unannotated module needs no metadata.
	run --separate-stderr "$RUNNER" audit --policy-manifest examples/monitor-mode-cluster-admission-policy.yaml \
		"$POLICY" test_data/audit/manifests
	[ "$status" -eq 1 ]
	[[ $output == *"kube-system/cilium    exempt by exempt_namespaces: kube-system"* ]]
	[[ $output == *"4 judged: 1 rejected, 2 exempt, 1 not host network."* ]]

	# An AdmissionPolicy sees its own namespace only.
	run --separate-stderr "$RUNNER" audit --policy-manifest examples/namespaced-admission-policy.yaml \
		"$POLICY" test_data/audit/manifests test_data/audit/pods.json
	[ "$status" -eq 0 ]
	[[ $output == "0 judged. 3 of kinds the policy does not judge (ConfigMap 2, Service 1). 7 in namespaces the policy does not see." ]]

}

@test "audit: a manifest of several policies judges each object by the policies that see it" {
	# Image exemptions in kube-system only, none elsewhere.
	manifest=examples/per-namespace-images-cluster-admission-policies.yaml
	run --separate-stderr "$RUNNER" audit --policy-manifest "$manifest" -o json "$POLICY" test_data/audit/manifests
	[ "$status" -eq 1 ]
	[ "$(record cilium | jq -r '[.verdict, .policy] | join(" ")')" = "exempt host-network-kube-system" ]
	[ "$(record csi-node | jq -r '[.verdict, .policy] | join(" ")')" = "rejected host-network-kube-system" ]
	[ "$(record web | jq -r '[.verdict, .policy] | join(" ")')" = "rejected host-network" ]

	run --separate-stderr "$RUNNER" audit --policy-manifest "$manifest" "$POLICY" test_data/audit/manifests
	[[ $output == *"kube-system/cilium    exempt by exempt_images: quay.io/cilium/cilium [host-network-kube-system]"* ]]

	# Settings are suggested for one policy at a time.
	run --separate-stderr "$RUNNER" audit --policy-manifest "$manifest" --suggest-settings "$POLICY" test_data/audit/manifests
	[ "$status" -eq 2 ]
	[[ $stderr == *"holds 2 (host-network-kube-system, host-network): give a file with the one to suggest for"* ]]
}
