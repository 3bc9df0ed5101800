# SPDX-License-Identifier: GPL-3.0-or-later
# ttahub.ops — the two commands that matter: `make rehearsal` and `make test`.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
PYTEST_ARGS ?=

.PHONY: setup test unit integration reliability lint sanity docs rehearsal bench clean

setup:
	@bash scripts/setup.sh

test: setup
	@bash scripts/test.sh

unit: setup
	$(VENV)/bin/python -m pytest -q tests/unit $(PYTEST_ARGS)

integration: setup
	$(VENV)/bin/python -m pytest -q tests/integration $(PYTEST_ARGS)

# The whole fault matrix and bad-input corpus (make test runs a sample of them): about 30 minutes on 2 cores.
reliability: setup
	$(VENV)/bin/python -m pytest -q -n $${PYTEST_WORKERS:-2} tests/reliability --full-matrix $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ansible-lint --offline

sanity: setup
	@bash scripts/sanity.sh

rehearsal: setup
	@bash scripts/rehearsal.sh

bench: setup
	@bash scripts/bench.sh

clean:
	-$(VENV)/bin/python -m rehearsal postgres destroy 2>/dev/null
	-$(VENV)/bin/python -m rehearsal.ssh_proxy stop 2>/dev/null
	-$(VENV)/bin/python -m rehearsal.github_api stop 2>/dev/null
	rm -rf $(VENV) .venv-py311 .collections .ansible tests/output rehearsal/.state
