"""The environment each helm process gets: isolated, with Go runtime settings a user may
override. A stand-in executable prints what it was given (the real helm's behaviour under
these settings is covered by the render tests, which all run through `run_helm`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.render.helm.process import GO_RUNTIME_DEFAULTS, MESSAGE_LANGUAGE, run_helm


@pytest.fixture
def print_environment(tmp_path: Path) -> Path:
    script = tmp_path / "helm"
    script.write_text("#!/bin/sh\nenv\n")
    script.chmod(0o755)
    return script


def _environment(helm: Path, monkeypatch: pytest.MonkeyPatch, **harmonias: str) -> dict[str, str]:
    """What helm sees when Harmonia's own environment has `harmonias` set."""
    for name, value in harmonias.items():
        monkeypatch.setenv(name, value)
    run = run_helm(helm, [], timeout=30)
    assert run.ok, run.error
    return dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line)


def test_helm_runs_on_one_thread_with_a_lazier_collector(
    print_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in GO_RUNTIME_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    environment = _environment(print_environment, monkeypatch)
    assert (environment["GOMAXPROCS"], environment["GOGC"]) == ("1", "400")


def test_the_users_go_settings_win(
    print_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = _environment(print_environment, monkeypatch, GOGC="100", GOMAXPROCS="4")
    assert (environment["GOGC"], environment["GOMAXPROCS"]) == ("100", "4")


def test_helm_reads_the_small_message_catalogue_whatever_the_users_locale(
    print_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kubectl's catalogue code reads LC_ALL, then LC_MESSAGES, then LANG: none of the
    user's may reach helm, or the English catalogue is read again."""
    environment = _environment(
        print_environment, monkeypatch, LC_ALL="en_US.UTF-8", LANG="en_US.UTF-8"
    )
    assert environment["LC_MESSAGES"] == MESSAGE_LANGUAGE["LC_MESSAGES"] == "fr_FR.UTF-8"
    assert "LC_ALL" not in environment
    assert "LANG" not in environment


def test_nothing_else_of_harmonias_environment_leaks_in(
    print_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = _environment(
        print_environment,
        monkeypatch,
        HARMONIA_SECRET_TOKEN="not-for-helm",
        KUBECONFIG="/somewhere/real",
    )
    assert "HARMONIA_SECRET_TOKEN" not in environment
    assert environment["KUBECONFIG"].endswith("no-cluster")
    assert environment["HOME"] != str(Path.home())
