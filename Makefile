# One Makefile: every target the README names, and the build targets `sam build` calls.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Three workers on CI's two cores: the integration tests wait on loopback HTTP and simulated clocks
# much of the time (8 min 33 s with 3 on a quiet machine, about 1.45 cores busy; 11 min with 2 beside a benchmark).
PYTEST_WORKERS ?= 3
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: property help venv lint format typecheck validate unit test demo local bench proof build deploy clean schemas screenshots chromium

help:
	@echo "make demo      run the whole integration locally (moto + Xero sandbox) and print what happened"
	@echo "make local     keep the local stack running for you to use; prints its URLs"
	@echo "make test      every check: ruff, mypy, sam validate --lint, pytest with coverage"
	@echo "make bench     benchmarks: Xero calls, drain time, CPU, cold start, memory"
	@echo "make proof     the reliability and security suite, full size"
	@echo "make property  the money property test on thousands of generated invoices"
	@echo "make screenshots  the settings page, step by step, into docs/settings/ (headless Chromium)"
	@echo "make build     sam build (arm64 layer with pinned dependencies)"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

venv: $(VENV)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: venv
	$(BIN)/mypy

validate: venv
	$(BIN)/sam validate --lint --template-file template.yaml

unit: venv
	$(BIN)/pytest tests/unit -q

# The browser tests drive Debian's Chromium; installed here on a machine that lacks it (CI runs as root).
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver

chromium: $(CHROMIUM)

test: lint typecheck validate $(CHROMIUM)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --cov --cov-report=term --durations=15

screenshots: venv $(CHROMIUM)
	$(BIN)/python -m tests.browser.screenshots docs/settings

demo: venv
	$(BIN)/python -m local.demo

local: venv
	$(BIN)/python -m local.stack

bench: venv
	$(BIN)/python -m benchmarks

proof: venv
	$(BIN)/python -m tests.proof

property: venv
	HYPOTHESIS_PROFILE=full $(BIN)/pytest -q -p no:randomly tests/unit/test_money_properties.py

schemas: venv
	$(BIN)/python -m shared.models.events events/schema
	$(BIN)/python -m shared.models.status_events events/schema/status

build: venv
	$(BIN)/sam build --template-file template.yaml

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage htmlcov

# ---- targets `sam build` runs (Metadata: BuildMethod: makefile); ARTIFACTS_DIR is set by SAM ----
LAYER_PLATFORM := --platform manylinux2014_aarch64 --implementation cp --python-version 3.13 --only-binary=:all:

build-SharedLayer:
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target "$(ARTIFACTS_DIR)/python" \
		$(LAYER_PLATFORM) -r requirements.txt
	cp -R shared "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)" -name __pycache__ -prune -exec rm -rf {} +

build-OAuthFunction: FUNCTION := oauth
build-ManagementFunction: FUNCTION := management
build-PushFunction: FUNCTION := push
build-SweepFunction: FUNCTION := sweep
build-AlertsFunction: FUNCTION := alerts
build-SettingsPageFunction: FUNCTION := settings_page
build-IntakeFunction: FUNCTION := intake
build-ReconcileFunction: FUNCTION := reconcile
build-OAuthFunction build-ManagementFunction build-IntakeFunction build-PushFunction build-SweepFunction build-AlertsFunction build-SettingsPageFunction build-ReconcileFunction:
	mkdir -p "$(ARTIFACTS_DIR)/functions/$(FUNCTION)"
	cp functions/__init__.py "$(ARTIFACTS_DIR)/functions/"
	cp functions/$(FUNCTION)/*.py "$(ARTIFACTS_DIR)/functions/$(FUNCTION)/"
