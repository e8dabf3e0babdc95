# One command each: `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export GOTOOLCHAIN ?= local

LATEST ?= .venv-latest
IMAGE ?= localhost/harmonia:dev
LOCK := $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock"

.PHONY: setup system-deps binaries demo test image lint lock test-latest clean

# Exactly the locked versions, each file checked against its sha256 (requirements/).
$(BIN)/.installed: pyproject.toml requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check  # the lock still holds what pyproject.toml asks for
	touch $@

setup: $(BIN)/.installed

# The dev cluster's binaries, Gitea (forge tests) and axe-core from npm (the UI's accessibility
# test), each cached under ~/.cache/harmonia, never in the repository.
binaries: setup
	$(BIN)/harmonia dev-cluster build --with-gitea --with-axe-core

# Debian's packages the tests need: the OCI registry the chart-source tests push charts to on
# loopback; buildah and mmdebstrap, which build the container image without a Docker engine;
# chromium and its chromedriver, the real browser of the web UI's test. A package counts as
# there when its command is (chromium-driver's is chromedriver) or dpkg has it installed.
SYSTEM_DEPS := docker-registry buildah mmdebstrap chromium chromium-driver
system-deps:
	@missing=$$(for tool in $(SYSTEM_DEPS); do command -v $$tool >/dev/null \
	  || dpkg-query -W -f='$${db:Status-Status}' $$tool 2>/dev/null | grep -qx installed \
	  || echo $$tool; done); \
	[ -z "$$missing" ] || { \
	  [ "$$(id -u)" = 0 ] && SUDO= || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; }

demo: binaries
	scripts/demo.sh

test: binaries system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

# The container image, from the Dockerfile unchanged, with buildah (as root; devcluster/image.py).
image: setup system-deps
	$(BIN)/python -m devcluster.image $(IMAGE)

lint: setup
	$(BIN)/ruff check reconciler devcluster tests bench
	$(BIN)/ruff format --check reconciler devcluster tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Refresh both lock files to the newest versions pyproject.toml allows (requirements/README.md).
lock: setup
	$(LOCK) pyproject.toml requirements/build.in --extra test --extra lint -o requirements/dev.txt
	$(LOCK) pyproject.toml requirements/backend.in -c requirements/dev.txt -o requirements/runtime.txt

# The whole suite against the newest versions in range, without the lock.
test-latest: binaries system-deps
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip
	$(LATEST)/bin/pip install --quiet --upgrade --upgrade-strategy eager -e '.[test,lint]'
	$(LATEST)/bin/pip list --format=freeze
	$(LATEST)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(LATEST) build *.egg-info
