"""Secret values and tokens against a hostile chart: an output a dependent embeds in a
Secret's text, a helm `fail` quoting the release's own Secret value, the render cache, and
a chart link into the working tree's `.git` folder."""

from __future__ import annotations

from pathlib import Path

from reconciler.types import ReleaseKey
from tests.render.test_pipeline import desired, write_repository

PASSWORD = "s3cr3t-pw-4711"
REPOSITORY = "apiVersion: harmonia.dev/v1alpha1\nkind: Repository\n"


def chart(name: str, templates: dict[str, str]) -> dict[str, str]:
    files = {f"charts/{name}/Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: 1.0.0\n"}
    files.update({f"charts/{name}/templates/{k}": v for k, v in templates.items()})
    return files


def release(name: str, **fields: str) -> dict[str, str]:
    body = "".join(f"{k}: {v}\n" for k, v in fields.items())
    return {
        f"releases/db/{name}.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: Release\n"
        f"name: {name}\nnamespace: db\nchartPath: charts/{name}\n{body}"
    }


def test_an_output_a_dependent_embeds_in_a_secret_connection_string_is_a_secret_output(
    helm_binary: Path, tmp_path: Path
) -> None:
    files = {
        "harmonia.yaml": REPOSITORY,
        **chart(
            "main",
            {
                "rc.yaml": "apiVersion: harmonia.dev/v1alpha1\nkind: ReleaseConfig\n"
                "metadata: {name: main}\nspec:\n  outputConfig:\n"
                "    password: {{ .Values.pw | quote }}\n    host: main.db.svc\n"
            },
        ),
        **release("main", configValues=f"{{pw: {PASSWORD}}}"),
        **chart(
            "app",
            {
                "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: app}\n"
                "stringData:\n  DATABASE_URL: "
                '{{ printf "postgres://app:%s@main.db.svc/app" '
                ".Values.dependencies.main.password | quote }}\n"
            },
        ),
        **release("app", dependencies="{main: main}"),
    }
    state = desired(write_repository(tmp_path / "repo", files), helm_binary, tmp_path / "cache")
    app = state.render.rendered[ReleaseKey("db/app")]
    assert f"postgres://app:{PASSWORD}@main.db.svc/app" in str(app.objects)
    main = state.render.rendered[ReleaseKey("db/main")]
    # The host is in the URL too, and long enough to count: hidden, as the API hides it.
    assert main.secret_outputs == {"password", "host"}


def test_a_helm_fail_quoting_a_value_the_releases_secret_holds_is_redacted(
    helm_binary: Path, tmp_path: Path
) -> None:
    files = {
        "harmonia.yaml": REPOSITORY,
        **chart(
            "main",
            {
                "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: main}\n"
                "stringData:\n  password: {{ .Values.db.pw | quote }}\n",
                "check.yaml": "{{- if .Values.strict }}"
                '{{ fail (printf "cannot log in with %s" .Values.db.pw) }}{{ end }}\n',
            },
        ),
        **release("main", configValues=f"{{db: {{pw: {PASSWORD}}}, strict: true}}"),
    }
    state = desired(write_repository(tmp_path / "repo", files), helm_binary, tmp_path / "cache")
    message = state.render.failed[ReleaseKey("db/main")].message
    assert "cannot log in with" in message
    assert PASSWORD not in message


def test_the_render_cache_on_disk_holds_no_secret_value(helm_binary: Path, tmp_path: Path) -> None:
    files = {
        "harmonia.yaml": REPOSITORY,
        **chart(
            "main",
            {
                "secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: main}\n"
                "stringData:\n  password: {{ .Values.db.pw | quote }}\n"
            },
        ),
        **release("main", configValues=f"{{db: {{pw: {PASSWORD}}}}}"),
        **chart(
            "plain",
            {"cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n"},
        ),
        **release("plain"),
    }
    cache = tmp_path / "cache"
    state = desired(write_repository(tmp_path / "repo", files), helm_binary, cache)
    assert {ReleaseKey("db/main"), ReleaseKey("db/plain")} <= set(state.render.rendered)
    # The release file's own text (the document cache, `releases/`) is a copy of Git.
    rendered = [p for p in (cache / "render").rglob("*") if p.is_file()]
    assert len(rendered) == 1, "the ConfigMap's render is cached, the Secret's is not"
    # The process keeps the Secret's render in memory: the next pass runs no engine.
    again = desired(write_repository(tmp_path / "repo", files), helm_binary, cache)
    assert again.render.engine_runs == 0
    assert [p for p in rendered if PASSWORD.encode() in p.read_bytes()] == []


def test_a_chart_link_into_the_working_trees_git_folder_is_refused(
    helm_binary: Path, tmp_path: Path
) -> None:
    """`harmonia diff PATH` and `render` read a working tree, whose `.git/config` holds the
    token of a CI checkout: a chart must not carry it into a rendered object."""
    token = "TOKEN-4711"
    files = {
        "harmonia.yaml": REPOSITORY,
        ".git/config": f"[http]\n\textraheader = AUTHORIZATION: basic {token}\n",
        **chart(
            "main",
            {
                "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: main}\n"
                'data:\n  c: {{ .Files.Get "files/c" | quote }}\n'
            },
        ),
        **release("main"),
    }
    root = write_repository(tmp_path / "repo", files)
    (root / "charts" / "main" / "files").mkdir()
    (root / "charts" / "main" / "files" / "c").symlink_to("../../../.git/config")
    state = desired(root, helm_binary, tmp_path / "cache")
    assert ReleaseKey("db/main") not in state.render.rendered
    message = state.render.failed[ReleaseKey("db/main")].message
    assert "files/c leads into the repository's .git folder" in message
    assert token not in message
