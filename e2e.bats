#!/usr/bin/env bats
# The compiled policy, run as `kwctl run` runs it: the scenarios of test_data/scenarios.json
# and the settings cases of test_data/settings.json (which tests/scenarios.rs and
# tests/settings_table.rs run natively), the bypass corpus, examples and release.
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
# The scenarios of test_data/scenarios.json (tests/scenarios.rs runs them natively): every
# behaviour rule, one request each. Every scenario runs, and every failing one is reported.

# check_phrases TEXT ROW: print each phrase of the table row's `contains` that TEXT lacks, and
# each of its `lacks` that TEXT has; the two tables state phrases the same way.
check_phrases() {
	local text=$1 row=$2 phrase
	while IFS= read -r phrase; do
		[ -z "$phrase" ] || [[ $text == *"$phrase"* ]] || echo "lacks: $phrase"
	done < <(jq -r '(.contains // [])[]' <<<"$row")
	while IFS= read -r phrase; do
		[ -z "$phrase" ] || [[ $text != *"$phrase"* ]] || echo "contains: $phrase"
	done < <(jq -r '(.lacks // [])[]' <<<"$row")
}

# check_scenario INDEX: run scenario INDEX of the table and print what is wrong with the
# response, one line each; print nothing when it behaves as the table says.
check_scenario() {
	local table=test_data/scenarios.json at=$1 scenario settings expect text audit phrase
	scenario=$(jq -c ".scenarios[$at]" "$table")
	settings=$(jq -c --arg key "$(jq -r .settings <<<"$scenario")" '.settings[$key]' "$table")
	run --separate-stderr "$KWCTL" run --request-path "test_data/$(jq -r .request <<<"$scenario").json" \
		--settings-json "$settings" "$POLICY"
	if [ "$status" -ne 0 ]; then
		echo "exit status $status: $stderr"
		return
	fi
	expect=$(jq -r .expect <<<"$scenario")
	case $expect in
	allowed)
		[ "$(allowed)" = true ] && [ "$(extras)" = '[null,null,null]' ] || echo "expected a silent acceptance: $(extras)"
		text=''
		;;
	warned)
		[ "$(allowed)" = true ] || echo "expected an acceptance"
		[ "$(warning_count)" -eq 1 ] || echo "expected one warning, got $(warning_count)"
		text=$(warning)
		;;
	rejected)
		[ "$(allowed)" = false ] || echo "expected a rejection"
		text=$(message)
		;;
	*) echo "unknown expect: $expect" ;;
	esac
	phrase=$(jq -r '.starts_with // ""' <<<"$scenario")
	[[ $text == "$phrase"* ]] || echo "does not start with: $phrase"
	if [ "$(jq 'has("equals")' <<<"$scenario")" = true ]; then
		[ "$text" = "$(jq -r .equals <<<"$scenario")" ] || echo "is not: $(jq -r .equals <<<"$scenario")"
	fi
	# contains_when_read_as_written is left out: kwctl parses the request file before the
	# policy sees it, so repeated keys reach the policy once.
	check_phrases "$text" "$scenario"
	while IFS= read -r phrase; do
		[ -z "$phrase" ] || [ "$(grep -oF -- "$phrase" <<<"$text" | wc -l)" -eq 1 ] || echo "not named once: $phrase"
	done < <(jq -r '(.once // [])[]' <<<"$scenario")
	if [ "$(jq 'has("audit")' <<<"$scenario")" = true ]; then
		audit=$(jq -r .audit <<<"$scenario")
		[ "$(audit)" = "$audit" ] || echo "audit annotation '$(audit)', expected '$audit'"
	fi
	if [ -n "$text" ]; then
		echo "# text: $text"
	fi
}

# check_table TABLE KEY MINIMUM CHECK LABEL: run CHECK on every row of TABLE's KEY list and
# report each row with problems, named by the jq expression LABEL; fail if any has one, or if
# the table has fewer than MINIMUM rows. Lines starting "# text: " are context, not problems.
check_table() {
	local table=$1 key=$2 minimum=$3 check=$4 label=$5 count at problems failed=0
	count=$(jq ".$key | length" "$table")
	[ "$count" -ge "$minimum" ] || { echo "$table has $count $key, expected at least $minimum"; return 1; }
	for ((at = 0; at < count; at++)); do
		problems=$("$check" "$at")
		if grep -v '^# text: ' <<<"$problems" | grep -q .; then
			echo "$(jq -r ".$key[$at] | $label" "$table"):"
			sed 's/^/  /' <<<"$problems"
			failed=$((failed + 1))
		fi
	done
	[ "$failed" -eq 0 ]
}

@test "every scenario of test_data/scenarios.json behaves as the table says" {
	check_table test_data/scenarios.json scenarios 50 check_scenario '.rule + ": " + .name'
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

# check_settings_case INDEX: run case INDEX of test_data/settings.json and print what is wrong
# with the answer, one line each; print nothing when it is as the table says.
check_settings_case() {
	local table=test_data/settings.json at=$1 case settings
	case=$(jq -c ".cases[$at]" "$table")
	settings=$(jq -c .settings <<<"$case")
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network_absent.json \
		--settings-json "$settings" "$POLICY"
	if [ "$(jq .valid <<<"$case")" = true ]; then
		[ "$status" -eq 0 ] || echo "refused: $stderr"
		return
	fi
	[ "$status" -eq 1 ] || { echo "accepted (exit status $status)"; return; }
	[[ $stderr == *"Provided settings are not valid"* ]] || echo "not refused as settings: $stderr"
	check_phrases "$stderr" "$case"
}

@test "every case of test_data/settings.json is answered as the table says" {
	check_table test_data/settings.json cases 20 check_settings_case .name
}

@test "null lists (as Helm writes an emptied list) are valid and exempt nothing" {
	run --separate-stderr "$KWCTL" run --request-path test_data/pod_host_network.json --settings-json '{"exempt_namespaces": null, "exempt_images": null}' "$POLICY"
	[ "$status" -eq 0 ]
	[ "$(allowed)" = false ]
	contains "$(message)" 'Pod default/web is not allowed'
}

# ---------------------------------------------------------------------------------------------
# The bypass corpus (tests/bypass.rs natively): every request in test_data/bypass/ tries to get
# hostNetwork past the exemptions of the `bypass` settings of test_data/scenarios.json (or the
# set its entry in reasons.json names), and each must be rejected for the reason reasons.json
# gives.
# A file the host cannot read as JSON (kwctl refuses a lone surrogate escape) is skipped there.

@test "every request of the bypass corpus is rejected for its reason" {
	local file name reason settings response message wrong=() rejected=0 unread=() skipped=()
	local table=test_data/bypass/reasons.json
	for file in test_data/bypass/*.json; do
		name=$(basename "$file")
		[ "$name" != reasons.json ] || continue
		# The host keeps only the last of repeated keys, so where that changes the request,
		# `through_host` says what it must be rejected for; null: the host sends no attack.
		if [ "$(jq -r --arg f "$name" '.[$f] | type == "object" and has("through_host") and .through_host == null' "$table")" = true ]; then
			skipped+=("$name")
			continue
		fi
		reason=$(jq -r --arg f "$name" '.[$f] | if type == "object" then (.through_host // .reason) else (. // "") end' "$table")
		settings=$(jq -r --arg f "$name" '.[$f] | if type == "object" then (.settings // "bypass") else "bypass" end' "$table")
		settings=$(jq -c --arg key "$settings" '.settings[$key] // error("no settings \($key)")' test_data/scenarios.json) || { wrong+=("$name: no such settings in test_data/scenarios.json"); continue; }
		[ -n "$reason" ] || { wrong+=("$name: no reason in reasons.json"); continue; }
		response=$("$KWCTL" run --request-path "$file" --settings-json "$settings" "$POLICY" 2>/dev/null | grep '^{' | tail -n 1) || true
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

@test "the AKS example does not exempt Calico's namespaces, which exist only with Calico" {
	local settings=$BATS_TEST_TMPDIR/aks.settings.yml namespace request
	settings_of examples/aks-cluster-admission-policy.yaml 0 >"$settings"
	for namespace in calico-system tigera-operator kube-system; do
		request=$BATS_TEST_TMPDIR/$namespace.json
		jq --arg ns "$namespace" '.namespace = $ns | .object.metadata.namespace = $ns' \
			test_data/pod_host_network.json >"$request"
		run --separate-stderr "$KWCTL" run --request-path "$request" --settings-path "$settings" "$POLICY"
		[ "$status" -eq 0 ]
		if [ "$namespace" = kube-system ]; then
			[ "$(allowed)" = true ]
		else
			[ "$(allowed)" = false ] || { echo "$namespace is exempt"; return 1; }
		fi
	done
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
# the annotated module and the rendered metadata kept in the test's own directory; tagged
# `release`, so that the release can run every other test against the module it pushed
# (`bats --filter-tags '!release'`), where there is no source tree to build.

release() {
	run --separate-stderr make -s --no-print-directory release-check \
		ANNOTATED="$BATS_TEST_TMPDIR/annotated.wasm" RENDERED="$BATS_TEST_TMPDIR/rendered" "$@"
}

# bats test_tags=release
@test "release: the annotated module names the release's repository and is pushed where it says" {
	release GITHUB_REPOSITORY=Acme-Corp/host-network-policy AUTHOR='Acme Platform <platform@acme.test>'
	[ "$status" -eq 0 ]
	contains "$output" "ociUrl ghcr.io/acme-corp/policies/host-network, no placeholder"
	embedded=$("$KWCTL" inspect -o yaml "file://$BATS_TEST_TMPDIR/annotated.wasm")
	contains "$embedded" "io.kubewarden.policy.source: https://github.com/Acme-Corp/host-network-policy" \
		"Acme Platform <platform@acme.test>" "registry://ghcr.io/acme-corp/policies/host-network:v"
	lacks "$embedded" "ghcr.io/OWNER/" "github.com/OWNER/" "maintainers@example.com"
}

# bats test_tags=release
@test "release: any author's name is embedded as written, quotes, bars and ampersands included" {
	author='O'"'"'Brien "Ops" | Platform & Co \ <ops@acme.test>'
	release GITHUB_REPOSITORY=acme/host-network-policy AUTHOR="$author"
	[ "$status" -eq 0 ]
	# kwctl inspect writes YAML only; this name needs no quoting there.
	embedded=$("$KWCTL" inspect -o yaml "file://$BATS_TEST_TMPDIR/annotated.wasm")
	contains "$embedded" "  io.kubewarden.policy.author: $author"$'\n'
}

# bats test_tags=release
@test "release: the artifacthub branch's files name the release's repository, as kwctl generates them" {
	"$KWCTL" scaffold artifacthub --help >/dev/null 2>&1 || skip "needs kwctl (ci.yml's e2e-kwctl job has it)"
	local dir=$BATS_TEST_TMPDIR/artifacthub rendered=$BATS_TEST_TMPDIR/rendered
	run --separate-stderr make -s --no-print-directory artifacthub-files ARTIFACTHUB_DIR="$dir" \
		RENDERED="$rendered" GITHUB_REPOSITORY=acme/host-network-policy AUTHOR='Acme Platform <platform@acme.test>'
	[ "$status" -eq 0 ]
	[ -f "$dir/artifacthub-pkg.yml" ] && [ -f "$dir/README.md" ] && [ -f "$dir/artifacthub-repo.yml" ]
	contains "$(cat "$dir/artifacthub-pkg.yml")" "image: ghcr.io/acme/policies/host-network:v" "Acme Platform"
	contains "$(cat "$dir/README.md")" "registry://ghcr.io/acme/policies/host-network:v"
	lacks "$(cat "$dir"/*)" "ghcr.io/OWNER/" "github.com/OWNER/" "maintainers@example.com"
	# What kwctl generates from the same metadata, but for its timestamp.
	"$KWCTL" scaffold artifacthub --metadata-path "$rendered/metadata.yml" --questions-path questions-ui.yml \
		--output "$BATS_TEST_TMPDIR/expected.yml"
	diff <(grep -v '^createdAt:' "$BATS_TEST_TMPDIR/expected.yml") <(grep -v '^createdAt:' "$dir/artifacthub-pkg.yml")
}

# bats test_tags=release
@test "release: a module with the placeholder organisation is refused" {
	release AUTHOR='Acme Platform <platform@acme.test>'
	[ "$status" -ne 0 ]
	contains "$stderr" "still names the placeholder 'ghcr.io/OWNER/policies/host-network'" "GITHUB_REPOSITORY"
}

# bats test_tags=release
@test "release: a module with the placeholder author is refused" {
	release GITHUB_REPOSITORY=acme/host-network-policy
	[ "$status" -ne 0 ]
	contains "$stderr" "still names the placeholder 'Host Network Policy maintainers <maintainers@example.com>'" "AUTHOR"
}

# bats test_tags=release
@test "release: a module annotated for one repository is not pushed to another" {
	release GITHUB_REPOSITORY=acme/host-network-policy AUTHOR='A <a@acme.test>'
	[ "$status" -eq 0 ]
	release -o policy.wasm -o "$BATS_TEST_TMPDIR/annotated.wasm" GITHUB_REPOSITORY=acme/host-network-policy \
		AUTHOR='A <a@acme.test>' OCI_REPOSITORY=ghcr.io/someone-else/host-network
	[ "$status" -ne 0 ]
	contains "$stderr" "says io.kubewarden.policy.ociUrl is 'ghcr.io/acme/policies/host-network'" \
		"pushed to 'ghcr.io/someone-else/host-network'"
}
