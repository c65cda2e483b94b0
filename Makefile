# vmo.rbac: every entry point of the project. `make help` lists them.
#
# Everything a target needs is installed by the target itself: a virtualenv with
# pinned Python packages (.venv), the control plane built from Go modules
# (.tools/bin), and the collection linked at .build/collections/ansible_collections/vmo/rbac
# so that ansible-playbook, molecule and ansible-test find it by its FQCN.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
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

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z][a-z-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F ':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

# ------------------------------------------------------------------ environment

$(VENV)/.installed: requirements.txt tests/requirements.txt tests/constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found; install Python 3.10 or 3.11" >&2; exit 1; }
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
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
test: venv controlplane collection ## everything CI runs: unit, integration, molecule, sanity, lint
	$(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-integration

.PHONY: test-unit
test-unit: venv collection ## unit tests (pure logic, no cluster)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

.PHONY: test-integration
test-integration: venv controlplane collection ## integration tests against the local control plane
	$(BIN)/python -m pytest tests/integration $(PYTEST_ARGS)

# ------------------------------------------------------------------------- demo

.PHONY: demo
demo: venv controlplane collection ## the collection's main job against local clusters
	$(BIN)/python tests/controlplane/controlplane.py up --clusters $(CLUSTERS)
	$(BIN)/python tests/controlplane/demo.py

# ------------------------------------------------------------------------ build

.PHONY: build
build: venv ## build the collection tarball into .build/
	$(BIN)/ansible-galaxy collection build --force --output-path .build .

.PHONY: clean
clean: cluster-down ## remove build output (keeps .venv and .tools)
	rm -rf .build reports tests/output
