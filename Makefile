# One command each: `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export GOTOOLCHAIN ?= local

.PHONY: setup system-deps binaries demo test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,lint]'
	touch $@

setup: $(BIN)/.installed

binaries: setup
	$(BIN)/harmonia dev-cluster build

# Debian's OCI registry, which the chart-source tests push charts to on loopback.
system-deps:
	@command -v docker-registry >/dev/null || { \
	  [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq docker-registry >/dev/null; }

demo: binaries
	scripts/demo.sh

test: binaries system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check reconciler devcluster tests bench
	$(BIN)/ruff format --check reconciler devcluster tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
