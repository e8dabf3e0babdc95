"""Secret values never leave the cluster's Secrets: a full `harmonia run` over the examples
plus releases holding Secrets (stringData and data; a Helm chart, a Jsonnet chart and a
plain chart fed from configValues), then everything the runs produced is searched.

Searched: every log line (text, then JSON at debug level), `harmonia diff` (text and
JSON) and `harmonia render` after a secret changed, `harmonia status` (table, YAML,
JSON), every status file and every commit Harmonia pushed, every API response,
/metrics, the Events in the namespace and the inventory records. Each value is looked
for as written and base64-encoded; each must really be in its Secret in the cluster.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from reconciler.apply.inventory import INVENTORY_LABEL
from tests.cluster.test_run_loop import (
    HARMONIA,
    STATUS_BRANCH,
    environment,
    eventually,
    free_port,
    http_get,
    remote_git,
    running,
)
from tests.conftest import GitRepos, LiveCluster

EXAMPLES = Path(__file__).parents[2] / "examples"
DEMO_KEY = EXAMPLES / "keys" / "demo-age-key.txt"
"""shop/web reads a values file encrypted for it (examples/values/shop/web-secrets.yaml)."""
DEMO_PASSWORD = "demo-password-from-sops"
"""What that file decrypts to: overridden by the test's configValues, never shown either."""
EXAMPLE_NAMESPACES = ("shop", "streaming")
SECRET_RELEASES = ("web", "vault", "ledger", "reports")
EVERY_RELEASE = ("zookeeper", "kafka", "cache", *SECRET_RELEASES)
READY_TIMEOUT = 420.0

LEDGER_CHART = """\
function(values={})
  [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'ledger' },
      type: 'Opaque',
      data: { pin: std.base64(values.credentials.pin) },
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ledger' }, data: { mode: 'books' } },
  ]
"""
REPORTS_SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-db
type: Opaque
stringData:
  url: "postgres://{{ .Values.db.user }}:{{ .Values.db.pw }}@db:5432/reports"
"""


@dataclass(frozen=True)
class SecretValues:
    """One generation of every secret value, each unique to this test run."""

    web_password: str
    vault_token: str
    vault_key: str
    ledger_pin: str
    reports_pw: str

    @classmethod
    def fresh(cls) -> SecretValues:
        return cls(*(f"{name}-{secrets.token_hex(8)}" for name in ("wp", "vt", "vk", "lp", "rp")))

    @property
    def reports_url(self) -> str:
        return f"postgres://app:{self.reports_pw}@db:5432/reports"

    def stored(self) -> dict[tuple[str, str], str]:
        """(Secret name, key) -> the value the cluster must hold."""
        return {
            ("web", "DATABASE_PASSWORD"): self.web_password,
            ("vault", "api-token"): self.vault_token,
            ("vault", "ssh-key"): self.vault_key,
            ("ledger", "pin"): self.ledger_pin,
            ("reports-db", "url"): self.reports_url,
        }

    def needles(self) -> dict[str, str]:
        """Every text that would give a value away: each value, and each plain and base64."""
        plain = {
            "web password": self.web_password,
            "vault token": self.vault_token,
            "vault key": self.vault_key,
            "ledger pin": self.ledger_pin,
            "reports pw": self.reports_pw,
            "reports url": self.reports_url,
        }
        encoded = {
            f"{what} (base64)": base64.b64encode(v.encode()).decode() for what, v in plain.items()
        }
        return {**plain, **encoded}


def release(name: str, namespace: str, **fields: object) -> str:
    body = {"apiVersion": "harmonia.dev/v1alpha1", "kind": "Release", "name": name}
    return yaml.safe_dump({**body, "namespace": namespace, **fields}, sort_keys=False)


def repository_files(work: Path, namespace: str, values: SecretValues) -> None:
    """The examples moved into `namespace`, and the releases holding `values`."""
    for path in (work / "releases").rglob("*.yaml"):
        text = path.read_text()
        for example in EXAMPLE_NAMESPACES:
            text = text.replace(f"namespace: {example}\n", f"namespace: {namespace}\n")
        path.write_text(text)
    web = yaml.safe_load((work / "releases/shop/web.yaml").read_text())
    web["configValues"]["secret"] = {"databasePassword": values.web_password}
    (work / "releases/shop/web.yaml").write_text(yaml.safe_dump(web, sort_keys=False))
    vault_secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "vault"},
        "stringData": {"api-token": values.vault_token},
        "data": {"ssh-key": base64.b64encode(values.vault_key.encode()).decode()},
    }
    files = {
        "charts/vault/objects.yaml": yaml.safe_dump(vault_secret),
        "charts/ledger/main.jsonnet": LEDGER_CHART,
        "charts/reports/Chart.yaml": "apiVersion: v2\nname: reports\nversion: 0.1.0\n",
        "charts/reports/templates/secret.yaml": REPORTS_SECRET,
        "releases/secrets/vault.yaml": release("vault", namespace, chartPath="charts/vault"),
        "releases/secrets/ledger.yaml": release(
            "ledger",
            namespace,
            chartPath="charts/ledger",
            configValues={"credentials": {"pin": values.ledger_pin}},
        ),
        "releases/secrets/reports.yaml": release(
            "reports",
            namespace,
            chartPath="charts/reports",
            configValues={"db": {"user": "app", "pw": values.reports_pw}},
        ),
    }
    for relative, text in files.items():
        path = work / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def commit(repos: GitRepos, namespace: str, values: SecretValues, message: str) -> str:
    repository_files(repos.work, namespace, values)
    return repos.commit_and_push({}, message)


def stored_values(cluster: LiveCluster, namespace: str) -> dict[tuple[str, str], str]:
    listed = json.loads(cluster.kubectl("-n", namespace, "get", "secrets", "-o", "json").stdout)
    return {
        (item["metadata"]["name"], key): base64.b64decode(value).decode()
        for item in listed["items"]
        for key, value in (item.get("data") or {}).items()
    }


def holds(cluster: LiveCluster, namespace: str, values: SecretValues) -> bool:
    stored = stored_values(cluster, namespace)
    return all(stored.get(where) == value for where, value in values.stored().items())


@dataclass
class Collected:
    """Everything the runs produced, by where it came from."""

    texts: dict[str, str] = field(default_factory=dict)

    def add(self, where: str, text: str) -> None:
        assert where not in self.texts, where
        self.texts[where] = text

    def api(self, port: int, namespace: str, label: str) -> None:
        for path in ("/api/v1", "/metrics", f"/api/v1/releases?namespace={namespace}"):
            code, body = http_get(port, path)
            assert code == 200, (path, body)
            self.add(f"{label} GET {path}", body)
        for name in EVERY_RELEASE:
            code, body = http_get(port, f"/api/v1/releases/{namespace}/{name}")
            assert code == 200, (name, body)
            self.add(f"{label} GET /api/v1/releases/{namespace}/{name}", body)

    def command(self, where: str, *arguments: str, env: dict[str, str]) -> str:
        done = subprocess.run(
            [*HARMONIA, *arguments],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert done.returncode in (0, 1), (where, done.returncode, done.stderr)
        self.add(where, done.stdout + done.stderr)
        return done.stdout

    def leaks(self, needles: dict[str, str]) -> list[str]:
        return [
            f"{what} in {where}"
            for what, needle in needles.items()
            for where, text in self.texts.items()
            if needle in text
        ]


def every_release_ready(port: int, namespace: str) -> bool:
    code, body = http_get(port, f"/api/v1/releases?namespace={namespace}")
    if code != 200:
        return False
    states = {entry["name"]: entry["state"] for entry in json.loads(body)["releases"]}
    return all(states.get(name) == "Ready" for name in EVERY_RELEASE)


def status_revision(repos: GitRepos, namespace: str, name: str) -> str:
    shown = subprocess.run(
        [
            "git",
            f"--git-dir={repos.remote}",
            "show",
            f"{STATUS_BRANCH}:status/{namespace}/{name}.yaml",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return (
        str((yaml.safe_load(shown.stdout) or {}).get("revision")) if shown.returncode == 0 else ""
    )


def run_until_applied(
    cluster: LiveCluster,
    repos: GitRepos,
    tmp_path: Path,
    *,
    namespace: str,
    values: SecretValues,
    commit_sha: str,
    collected: Collected,
    label: str,
    log_options: tuple[str, ...] = (),
) -> None:
    """`harmonia run` until `values` are in the cluster and their status is pushed, the
    API read meanwhile; then SIGTERM, and its whole log collected."""
    port = free_port()
    log = tmp_path / f"{label}.log"
    options = (
        "--listen",
        f"127.0.0.1:{port}",
        "--no-leader-elect",
        "--sops",
        str(cluster.binaries["sops"]),
        "--sops-age-key-file",
        str(DEMO_KEY),
        *log_options,
    )
    with running(cluster, repos, tmp_path / f"cache-{label}", log, *options) as process:
        eventually(
            lambda: every_release_ready(port, namespace),
            what="every release Ready",
            timeout=READY_TIMEOUT,
        )
        eventually(
            lambda: holds(cluster, namespace, values), what="the values applied", timeout=120
        )
        eventually(
            lambda: all(
                status_revision(repos, namespace, n) == commit_sha for n in SECRET_RELEASES
            ),
            what="the status of the commit pushed",
            timeout=120,
        )
        collected.api(port, namespace, label)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    collected.add(f"{label} log", log.read_text())


def test_no_secret_value_reaches_a_log_diff_status_commit_event_or_api_response(
    cluster: LiveCluster, namespace: str, git_repos: GitRepos, tmp_path: Path
) -> None:
    shutil.copytree(EXAMPLES, git_repos.work, dirs_exist_ok=True)
    generations = [SecretValues.fresh() for _ in range(3)]
    first, second, third = generations
    env = {
        **environment(cluster, tmp_path / "cli-cache"),
        "HARMONIA_SOPS": str(cluster.binaries["sops"]),
        "SOPS_AGE_KEY_FILE": str(DEMO_KEY),
    }
    collected = Collected()

    sha = commit(git_repos, namespace, first, "examples and secrets")
    run_until_applied(
        cluster,
        git_repos,
        tmp_path,
        namespace=namespace,
        values=first,
        commit_sha=sha,
        collected=collected,
        label="text",
    )

    # A changed secret, before it is committed: what would a reviewer see?
    repository_files(git_repos.work, namespace, second)
    work = str(git_repos.work)
    diff = collected.command("diff -o text", "diff", work, env=env)
    assert f"Secret/{namespace}/vault" in diff and f"Secret/{namespace}/reports-db" in diff
    collected.command("diff -o json", "diff", work, "-o", "json", env=env)
    for name in SECRET_RELEASES:
        for output in ("yaml", "json"):
            rendered = collected.command(
                f"render {name} -o {output}",
                "render",
                work,
                "-r",
                f"{namespace}/{name}",
                "-o",
                output,
                env=env,
            )
            assert "kind: Secret" in rendered or '"kind": "Secret"' in rendered

    sha = commit(git_repos, namespace, second, "secrets rotated")
    run_until_applied(
        cluster,
        git_repos,
        tmp_path,
        namespace=namespace,
        values=second,
        commit_sha=sha,
        collected=collected,
        label="text-rotated",
    )
    sha = commit(git_repos, namespace, third, "secrets rotated again")
    run_until_applied(
        cluster,
        git_repos,
        tmp_path,
        namespace=namespace,
        values=third,
        commit_sha=sha,
        collected=collected,
        label="json-debug",
        log_options=("--log-format", "json", "--log-level", "debug"),
    )

    for output in ("table", "yaml", "json"):
        collected.command(f"status -o {output}", "status", "-n", namespace, "-o", output, env=env)
    for name in SECRET_RELEASES:
        collected.command(
            f"status {name}", "status", "-r", f"{namespace}/{name}", "-o", "yaml", env=env
        )
    status_files = remote_git(git_repos, "ls-tree", "-r", "--name-only", STATUS_BRANCH).splitlines()
    assert f"status/{namespace}/vault.yaml" in status_files
    for path in status_files:
        collected.add(
            f"status file {path}", remote_git(git_repos, "show", f"{STATUS_BRANCH}:{path}")
        )
    # Every commit on the remote that the test did not push itself: Harmonia's.
    pushed_by_harmonia = remote_git(git_repos, "log", "-p", "--all", "--not", "main")
    assert "status: " in pushed_by_harmonia
    collected.add("git log -p --all --not main", pushed_by_harmonia)
    events = cluster.kubectl("-n", namespace, "get", "events", "-o", "json").stdout
    assert json.loads(events)["items"], "the runs recorded no Event"
    collected.add("events", events)
    inventories = cluster.kubectl(
        "-n", namespace, "get", "configmaps", "-l", f"{INVENTORY_LABEL}=true", "-o", "json"
    ).stdout
    collected.add("inventory records", inventories)

    assert holds(cluster, namespace, third)
    needles = {
        f"{what} #{n}": text
        for n, values in enumerate(generations, 1)
        for what, text in values.needles().items()
    }
    needles["examples' SOPS password"] = DEMO_PASSWORD
    needles["examples' SOPS password (base64)"] = base64.b64encode(DEMO_PASSWORD.encode()).decode()
    assert collected.leaks(needles) == []
