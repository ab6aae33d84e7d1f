# Everything a newcomer needs: `make run` and `make test`. Nothing is installed by hand:
# the first target that needs Python builds .venv from uv.lock.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PY := $(VENV)/bin/python
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON := $(shell command -v $(PYTHON))
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --quiet
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## Create .venv from the lock file

.PHONY: lock
lock: | $(UV) ## Re-resolve dependencies into uv.lock
	$(UV) lock

.PHONY: run
run: install ## The whole system: infrastructure, migrations, services, workers, sandbox
	$(PY) -m devstack.run

.PHONY: test-packages
test-packages: ## Debian's Chromium and a CJK font for the browser tests, installed when missing
	@devstack/test-packages.sh

.PHONY: test
test: install test-packages ## Every test: unit, integration, e2e, then the fuzzing and fault suites
	$(PY) -m devstack.with_infra -- $(PY) -m pytest -n 2 --dist loadgroup --ignore=tests/faults --ignore=tests/fuzz \
		--deselect tests/integration/test_log_secrets.py -m "not alone" $(PYTEST_ARGS)
	$(PY) -m devstack.with_infra -- $(PY) -m pytest -m alone tests/integration $(PYTEST_ARGS)
	@# Configures process-wide logging at DEBUG (loggers cache their level at first use): a process of its own.
	$(PY) -m devstack.with_infra -- $(PY) -m pytest tests/integration/test_log_secrets.py $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-fuzz
	@$(MAKE) --no-print-directory test-faults

.PHONY: test-faults
test-faults: install ## Fault scenarios over real processes (kills, Redis/PostgreSQL restarts, sandbox faults)
	$(PY) -m pytest tests/faults $(PYTEST_ARGS)

.PHONY: test-repeat
test-repeat: install ## The e2e and fault suites COUNT times in a row (3), embedded and on DATABASE_URL/REDIS_URL: flakes
	$(PY) -m devstack.repeat --count $(or $(COUNT),3) $(PYTEST_ARGS)

.PHONY: test-unit
test-unit: install ## The unit layer alone (no servers needed; tests/deploy is make validate-deploy)
	$(PY) -m pytest tests/unit -n 2 $(PYTEST_ARGS)

.PHONY: test-fuzz
test-fuzz: install ## schemathesis against every service's OpenAPI schema (FUZZ_EXAMPLES per operation)
	$(PY) -m devstack.with_infra -- $(PY) -m pytest tests/fuzz $(PYTEST_ARGS)

.PHONY: lint
lint: install ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

.PHONY: fmt
fmt: install ## Format and autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

.PHONY: bench
bench: install ## Benchmarks with their reference figures, as ratios
	$(PY) -m devstack.with_infra -- $(PY) -m bench

.PHONY: soak
soak: install ## 10 minutes of mixed load at 50% of capacity (p99 per minute: allocations 50 ms, ships 300 ms, pushes 50 ms), then 1,000,000 racing allocations (not in CI)
	@# Both run; the target fails if either did.
	$(PY) -m devstack.with_infra -- $(PY) -m bench.soak; soak=$$?; \
	$(PY) -m devstack.with_infra -- $(PY) -m bench.race && exit $$soak

.PHONY: demo
demo: install ## A seller's day through the running system (needs `make run`)
	$(PY) -m devstack.demo

.PHONY: migrate
migrate: install ## Apply every service's migrations to DATABASE_URL
	$(PY) -m devstack.migrate

.PHONY: clean
clean: ## Remove the virtualenvs and embedded data
	rm -rf $(VENV) $(TOOLS) .data

.PHONY: validate-deploy
validate-deploy: install ## Validate deploy/ offline: Kubernetes and CRD schemas, Compose spec, kustomization, alerts, docs
	@# Kubernetes' own kinds are in deploy/kubernetes/[0-3]*.yaml, the Prometheus Operator's (CRDs, which
	@# kubernetes-validate does not know) in 4*.yaml; kustomization.yaml is checked by tests/deploy.
	$(VENV)/bin/kubernetes-validate --strict --quiet --kubernetes-version 1.30.0 deploy/kubernetes/[0-3]*.yaml
	$(VENV)/bin/kubernetes-validate --strict --quiet deploy/kubernetes/[0-3]*.yaml
	$(VENV)/bin/check-jsonschema --schemafile tests/deploy/schemas/prometheus-operator.json deploy/kubernetes/4*.yaml
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yml
	$(VENV)/bin/pytest -q -p no:xdist tests/deploy
