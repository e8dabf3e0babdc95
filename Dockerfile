# syntax=docker/dockerfile:1
# The Harmonia reconciler: `harmonia run` in a Deployment or a CronJob (see docs/install.md).
# Build: docker build -t registry.example/harmonia:0.1.0 .   or   make image (buildah)
# CI builds this file unchanged with buildah and runs the image against the dev cluster
# (tests/image/); docs/install.md, "The image", says what it holds and how big it is.

# The tools every chart kind needs (helm and harmonia-renderer, Helm's engine as one
# long-lived process, built from renderer/; kubectl for Kustomize folders; sops for
# encrypted files), built by the dev cluster's own recipe: devcluster/build.py, with the
# versions and ldflags of devcluster/pins.py, CGO off, -trimpath. The image renders with
# the binaries the tests render with, and `go` checks every module it fetches against
# go.sum and the Go checksum database, so no hand-copied sha256 can go stale.
FROM golang:1.26.8-bookworm AS tools
# Debian's python3 runs the recipe; PyYAML is the one library it imports.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-yaml \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY reconciler/__init__.py reconciler/locations.py ./reconciler/
COPY devcluster/__init__.py devcluster/pins.py devcluster/build.py ./devcluster/
COPY renderer ./renderer
ENV HARMONIA_CACHE_DIR=/var/cache/harmonia-build
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    python3 -m devcluster.build helm harmonia-renderer kubectl sops --into /out \
    && /out/helm version --short && /out/harmonia-renderer < /dev/null && /out/kubectl version --client && /out/sops --version --disable-version-check

# Debian's own python3 (3.11 in bookworm, the version pyproject.toml supports), so the
# virtual environment built here runs unchanged in the final stage, same base, same path.
# Only the product is installed: no `test` extra, and no devcluster package.
FROM debian:bookworm-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/harmonia
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

FROM debian:bookworm-slim
# python3 runs the venv; git for GitPython (fetch, status commits); openssh-client for
# ssh:// remotes; ca-certificates for https remotes.
# Versions are not pinned: Debian replaces a package version when it ships a security
# fix, so a pinned version would soon fail to install; bookworm keeps the ABI stable.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 harmonia \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/harmonia \
        --shell /usr/sbin/nologin harmonia \
    && install -d -o 10001 -g 10001 /var/cache/harmonia
COPY --from=tools /out/helm /out/harmonia-renderer /out/kubectl /out/sops /usr/local/bin/
COPY --from=builder /opt/harmonia /opt/harmonia
ENV PATH=/opt/harmonia/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HARMONIA_HELM=/usr/local/bin/helm \
    HARMONIA_RENDERER=/usr/local/bin/harmonia-renderer \
    HARMONIA_KUBECTL=/usr/local/bin/kubectl \
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
