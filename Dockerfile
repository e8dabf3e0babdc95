# syntax=docker/dockerfile:1
# The Harmonia reconciler: `harmonia run` in a Deployment or a CronJob (see docs/install.md).
# Build: docker build -t registry.example/harmonia:0.1.0 .
# This image has never been built where it was written (no Docker engine there);
# tests/unit/test_dockerfile.py lints it and checks it against the project's pins.

# Helm is built from source, exactly as the dev cluster builds it (devcluster/pins.py and
# devcluster/build.py: the same module, version and ldflags, CGO off, -trimpath), rather
# than downloaded from get.helm.sh. One reason: the image renders with the same helm the
# tests render with, recipe for recipe. The other: `go install module@version` checks every
# module it fetches against go.sum and the Go checksum database (sum.golang.org), so the
# source is verified without a hand-copied sha256 that could go stale or be copied wrong.
FROM golang:1.26.8-bookworm AS helm
ARG HELM_VERSION=v4.3.1
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOBIN=/out
RUN go install -trimpath \
        -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}" \
        "helm.sh/helm/v4/cmd/helm@${HELM_VERSION}" \
    && test "$(/out/helm version --template '{{.Version}}')" = "${HELM_VERSION}"

# sops decrypts the repository's SOPS files (docs/secrets.md); built the same way, at the
# dev cluster's pin, so the image decrypts with the binary the tests decrypt with.
FROM golang:1.26.8-bookworm AS sops
ARG SOPS_VERSION=v3.13.3
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false GOBIN=/out
RUN go install -trimpath \
        -ldflags "-s -w -X github.com/getsops/sops/v3/version.Version=${SOPS_VERSION#v}" \
        "github.com/getsops/sops/v3/cmd/sops@${SOPS_VERSION}" \
    && test "$(/out/sops --version --disable-version-check)" = "sops ${SOPS_VERSION#v}"

# The virtual environment is built here and copied whole into the final stage, which
# uses the same base image, so the venv's python symlinks resolve there too.
# Only the product is installed: no `test` extra, and no devcluster package (the
# folder is not copied in; the product never imports it).
FROM python:3.11-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/harmonia
WORKDIR /src
# The locked versions, each file checked against its sha256 (requirements/README.md),
# then the project itself without resolving anything more.
COPY requirements/runtime.txt ./requirements/
RUN /opt/harmonia/bin/pip install --require-hashes --no-deps -r requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY reconciler ./reconciler
RUN /opt/harmonia/bin/pip install --no-deps --no-build-isolation . \
    && /opt/harmonia/bin/pip check \
    && /opt/harmonia/bin/harmonia --help > /dev/null

FROM python:3.11-slim-bookworm
# git for GitPython (fetch, status commits), openssh-client for ssh:// remotes.
# Versions are not pinned: Debian replaces a package version when it ships a security
# fix, so a pinned version would soon fail to install; bookworm keeps the ABI stable.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 harmonia \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/harmonia \
        --shell /usr/sbin/nologin harmonia \
    && install -d -o 10001 -g 10001 /var/cache/harmonia
COPY --from=helm /out/helm /usr/local/bin/helm
COPY --from=sops /out/sops /usr/local/bin/sops
COPY --from=builder /opt/harmonia /opt/harmonia
ENV PATH=/opt/harmonia/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HARMONIA_HELM=/usr/local/bin/helm \
    HARMONIA_SOPS=/usr/local/bin/sops \
    HARMONIA_CACHE_DIR=/var/cache/harmonia
# A numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/harmonia
# /metrics, /healthz, /readyz and /api/v1 (harmonia run --listen, default :8080).
EXPOSE 8080
# No HEALTHCHECK: Kubernetes ignores it and probes /healthz and /readyz itself
# (deploy/), and under `run --once` (a CronJob) there is no server to probe.
ENTRYPOINT ["harmonia"]
CMD ["run"]
