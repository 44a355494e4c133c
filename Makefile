# pirack.cluster — the two commands the README starts with:
#   make rack   bring up the simulated Pi rack and run site.yml on it
#   make test   everything CI runs (.ci/run calls exactly this)
SHELL := /bin/bash

# What the controller needs before anything else, each missing piece named
# in one line: GNU make 3.82 or newer (the recipes are one shell each,
# .ONESHELL) and Python 3.11 or newer (the pinned ansible-core 2.19 needs it;
# PYTHON picks another interpreter). `make help` and `make clean` need neither.
ifeq ($(filter oneshell,$(.FEATURES)),)
$(error GNU make 3.82 or newer is needed, this is $(MAKE_VERSION): install it (macOS: brew install make, then run gmake))
endif
PYTHON   ?= python3
ifneq ($(filter-out help clean,$(or $(MAKECMDGOALS),help)),)
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(PYTHON_VERSION),)
$(error $(PYTHON) not found: Python 3.11 or newer is needed (install it, or set PYTHON=/path/to/python3.11))
endif
ifneq ($(shell $(PYTHON) -c 'import sys; print(sys.version_info >= (3, 11))'),True)
$(error $(PYTHON) is Python $(PYTHON_VERSION): ansible-core 2.19 needs 3.11 or newer (install it, or set PYTHON=/path/to/python3.11))
endif
endif
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

VENV     := .venv
BIN      := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_FORCE_COLOR ?= 0

PI_IMAGE     ?= pirack/pi-host:bookworm
RACK_ARGS    ?=
# The checkout's simulated-rack inventory (ansible.cfg's default, next to its
# group_vars); the rack's SSH key stays in ~/.local/share/pirack/<rack>.
RACK_INVENTORY := inventories/local/hosts.yml
# Molecule scenarios `make test` runs, in this order. `swarm` (8 min) is left
# out: the e2e test runs the same pipeline and its failover test. What the
# `default` scenario checked (boards boot systemd, log in as pi with sudo,
# show their model's memory) tests/integration/test_reuse.py checks on its
# boards.
SCENARIOS    ?= docker k3s app monitoring

.PHONY: help venv runtime engine images test-packages rack rack-down test lint sanity unit integration molecule e2e faults lifecycle multiarch clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

$(BIN)/.stamp: requirements.txt requirements-test.txt
	@echo "==> virtualenv $(VENV) (runtime and test requirements)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

.collections/ansible_collections/pirack/cluster:
	mkdir -p .collections/ansible_collections/pirack
	ln -sfn ../../.. $@

venv: $(BIN)/.stamp .collections/ansible_collections/pirack/cluster ## create the virtualenv with every requirement

# What `make rack` needs and no more: requirements.txt, and the collections
# galaxy.yml depends on taken from the `ansible` wheel (not the whole
# package, which the tests need). A venv that `make venv` made has it all.
$(BIN)/.runtime-stamp: requirements.txt requirements-test.txt galaxy.yml
	@echo "==> virtualenv $(VENV) (runtime requirements only)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ ! -e $(BIN)/.stamp ]; then
	  $(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	  $(BIN)/python scripts/runtime-collections.py $(BIN)/python .collections
	fi
	touch $@

runtime: $(BIN)/.runtime-stamp .collections/ansible_collections/pirack/cluster ## the virtualenv make rack needs (runtime requirements only)

# A controller for a real rack, without the test toolchain: requirements.txt
# in $(CONTROLLER_VENV), then the collection built from this checkout and
# installed into $(COLLECTIONS_DIR) with the collections galaxy.yml declares
# (from Galaxy; offline, from GALAXY_OFFLINE_FROM, a directory holding
# <namespace>/<name>/ of each, e.g. the ansible_collections/ of the `ansible`
# PyPI package).
CONTROLLER_VENV     ?= $(VENV)
COLLECTIONS_DIR     ?= $(HOME)/.ansible/collections
GALAXY_OFFLINE_FROM ?=

.PHONY: controller
controller: ## runtime-only controller: requirements.txt, the collection and its dependencies installed
	@echo "==> $(CONTROLLER_VENV): runtime requirements only"
	test -x $(CONTROLLER_VENV)/bin/python || $(PYTHON) -m venv $(CONTROLLER_VENV)
	$(CONTROLLER_VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	rm -rf build/collection
	$(CONTROLLER_VENV)/bin/ansible-galaxy collection build --force --output-path build/collection .
	tarball=$$(ls build/collection/pirack-cluster-*.tar.gz)
	echo "==> $$tarball and its dependencies into $(COLLECTIONS_DIR)"
	if [ -n "$(GALAXY_OFFLINE_FROM)" ]; then
	  deps=$$($(CONTROLLER_VENV)/bin/python -c 'import yaml; print(" ".join(yaml.safe_load(open("galaxy.yml"))["dependencies"]))')
	  $(CONTROLLER_VENV)/bin/ansible-galaxy collection install --offline --force -p $(COLLECTIONS_DIR) \
	    "$$tarball" $$(for d in $$deps; do echo "$(GALAXY_OFFLINE_FROM)/$${d/.//}"; done)
	else
	  $(CONTROLLER_VENV)/bin/ansible-galaxy collection install --force -p $(COLLECTIONS_DIR) "$$tarball"
	fi
	echo "Controller ready: . $(CONTROLLER_VENV)/bin/activate; ansible-playbook pirack.cluster.site -i <inventory>"

engine: ## make sure a Docker engine answers (installs docker.io when root)
	@bash scripts/ensure-engine.sh

# The Pi host image is built FROM the base image scripts/base-image.sh made
# (PIRACK_BASE_IMAGE, default debian:bookworm), and make rack starts its
# boards from $(PI_IMAGE): other names give a rack built from nothing beside
# the images this machine already has.
PI_IMAGE_BUILD = bash scripts/progress.sh \
  "pi host image $(PI_IMAGE): docker build (a few minutes the first time, seconds once cached)" \
  docker build --build-arg BASE_IMAGE=$${PIRACK_BASE_IMAGE:-debian:bookworm} -t $(PI_IMAGE) molecule/pi-host

images: engine ## build (or reuse) the simulated Pi host image
	@bash scripts/base-image.sh
	$(PI_IMAGE_BUILD)
	echo "pi host image $(PI_IMAGE): ready"

# Each stage is timed (scripts/stage.sh; site.yml's plays by the
# pirack.cluster.stages callback) and the durations are printed at the end;
# callbacks of the caller's ANSIBLE_CALLBACKS_ENABLED (profile_tasks) run too.
# The venv is made beside the images (pip downloads while docker builds).
STAGES_FILE := build/rack-stages.txt
# Named through a variable: a recipe that says $(MAKE) itself is run even by
# `make -n` (and .ONESHELL makes the whole recipe one line), so `make -n rack`
# would bring the rack up instead of printing the commands.
RACK_VENV = $(MAKE) --no-print-directory runtime
rack: ## bring up the simulated rack and run site.yml on it, then print each stage's duration
	mkdir -p build
	export PIRACK_STAGES_FILE=$(CURDIR)/$(STAGES_FILE)
	bash scripts/stage.sh --start
	bash scripts/stage.sh "engine" bash scripts/ensure-engine.sh
	bash scripts/stage.sh "venv (beside the images)" $(RACK_VENV) > build/rack-venv.log 2>&1 &
	venv=$$!
	bash scripts/stage.sh "base image" bash scripts/base-image.sh
	bash scripts/stage.sh "Pi image" $(PI_IMAGE_BUILD)
	wait $$venv || { cat build/rack-venv.log; exit 1; }
	cat build/rack-venv.log
	bash scripts/stage.sh "rack up" \
	  ansible-playbook playbooks/rack_up.yml -e sim_rack_inventory=$(CURDIR)/$(RACK_INVENTORY) -e sim_rack_image=$(PI_IMAGE) $(RACK_ARGS)
	ANSIBLE_CALLBACKS_ENABLED=pirack.cluster.stages$${ANSIBLE_CALLBACKS_ENABLED:+,$$ANSIBLE_CALLBACKS_ENABLED} \
	  ansible-playbook site.yml -i $(RACK_INVENTORY) $(RACK_ARGS)
	bash scripts/stage.sh --report
	echo
	echo "The simulated rack is up. Tear it down with: make rack-down"

rack-down: runtime ## remove the simulated rack (containers, volumes, network)
	ansible-playbook playbooks/rack_down.yml $(RACK_ARGS)

lint: venv ## ruff, ansible-lint (production profile) and the changelog fragments
	ruff check .
	ansible-lint --profile production
	antsibull-changelog lint

sanity: venv ## ansible-test sanity on a copy of the collection
	bash scripts/sanity.sh

test-packages: ## Debian packages the tests drive (chromium, redis, sysbench)
	@bash scripts/test-packages.sh

# Unit tests never reach a Docker engine: DOCKER_HOST points at a closed port
# (tests/unit/conftest.py does the same for the collection's tests).
NO_ENGINE    := tcp://127.0.0.1:9
# Integration tests `make integration` leaves to targets of their own: the
# long rack tests (make lifecycle, make faults), the failover test, which
# the e2e test runs on its rack, and the private-swarm test, which touches
# the machine's network namespace (tests/integration/test_docker_swarm.py says how).
LONG_TESTS   := test_lifecycle.py test_faults.py test_failover.py test_docker_swarm.py test_multiarch_rack.py

unit: venv test-packages ## pytest without a Docker engine: the collection's unit tests and the coin-miner services'
	DOCKER_HOST=$(NO_ENGINE) pytest -q tests/unit coinminer --ignore=coinminer/tests

integration: venv images test-packages ## pytest against this machine's engine: tests/integration (all but LONG_TESTS) and the coin-miner stack
	pytest -q tests/integration $(addprefix --ignore=tests/integration/,$(LONG_TESTS)) coinminer/tests

molecule: venv images ## the molecule scenarios in $(SCENARIOS)
	for s in $(SCENARIOS); do
	  echo "==> molecule test -s $$s"
	  molecule test -s $$s
	done

e2e: venv images ## the whole pipeline on a 1 + 2 simulated rack, re-run included
	pytest -q -s tests/e2e

faults: venv images ## the faults a real rack meets, on a 1 + 2 simulated rack (about 20 min, not in make test)
	pytest -q -s tests/integration/test_faults.py

lifecycle: venv images ## an operator's lifecycle on 2 simulated clusters (about 14 min, not in make test)
	pytest -q -s tests/integration/test_lifecycle.py

multiarch: venv images test-packages ## amd64, arm64 and armhf images on a 1 + 2 simulated rack, two of them emulated (about 30 min, not in make test)
	pytest -q -s tests/integration/test_multiarch_rack.py

test: venv images lint sanity unit integration molecule e2e ## everything CI runs

clean: ## remove the virtualenv and build leftovers
	rm -rf $(VENV) .collections build
