"""`harmonia run`'s settings: durations, and defaults < config file < flags."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.loop.settings import RunSettings, SettingsError, parse_duration, run_settings
from reconciler.policy import PolicyConfigError, load_policy
from reconciler.source import Credentials


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("500ms", 0.5), ("1.5s", 1.5), ("2h", 7200)],
)
def test_durations_read_like_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, setting="interval") == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "s", "-5s", "5 m", "1d", "5m3"])
def test_a_malformed_duration_names_the_setting(text: str) -> None:
    with pytest.raises(SettingsError, match=r"^interval: .* is not a duration"):
        parse_duration(text, setting="interval")


def test_without_a_repository_url_the_error_says_where_to_give_one() -> None:
    with pytest.raises(SettingsError, match=r"--repo URL, HARMONIA_REPO_URL or repository\.url"):
        run_settings({}, {}, pod_namespace=None)


def test_defaults_apply_when_nothing_is_given() -> None:
    settings = run_settings({}, {"url": "https://git.example/r.git"}, pod_namespace=None)
    assert settings == RunSettings(url="https://git.example/r.git")
    assert (settings.interval, settings.lease_namespace) == (timedelta(minutes=1), "default")


def test_the_http_endpoints_listen_on_loopback_and_show_this_sources_releases_by_default() -> None:
    settings = run_settings({}, {"url": "https://git.example/r.git"}, pod_namespace=None)
    assert (settings.listen, settings.api_scope) == ("127.0.0.1:8080", "source")


def test_every_interface_and_every_release_are_explicit_choices() -> None:
    document = {"listen": "0.0.0.0:8080", "apiScope": "all"}
    settings = run_settings(document, {"url": "file:///r"}, pod_namespace=None)
    assert (settings.listen, settings.api_scope) == ("0.0.0.0:8080", "all")
    flags = {"url": "file:///r", "listen": ":9090", "api_scope": "source"}
    settings = run_settings(document, flags, pod_namespace=None)
    assert (settings.listen, settings.api_scope) == (":9090", "source")


def test_an_unknown_api_scope_is_refused() -> None:
    with pytest.raises(SettingsError, match="API scope must be source or all, not 'everyone'"):
        run_settings({"apiScope": "everyone"}, {"url": "file:///r"}, pod_namespace=None)


def test_the_config_file_fills_what_flags_leave_out_and_flags_win() -> None:
    document = {
        "apiVersion": "harmonia.dev/v1alpha1",
        "kind": "ReconcilerConfig",
        "repository": {
            "url": "https://git.example/from-file.git",
            "ref": "main",
            "path": "deploy",
            "tokenFile": "/etc/harmonia/token",
        },
        "interval": "2m",
        "listen": "off",
        "leaderElection": {"namespace": "ops", "leaseDuration": "20s"},
        "status": {"authorName": "Release Bot"},
        "backoff": {"base": "10s", "max": "5m"},
        "log": {"format": "json"},
    }
    settings = run_settings(
        document, {"url": "https://git.example/from-flag.git", "interval": None}, pod_namespace="x"
    )
    assert settings.url == "https://git.example/from-flag.git"
    assert (settings.ref, settings.subfolder) == ("main", "deploy")
    assert settings.credentials == Credentials(token_file=Path("/etc/harmonia/token"))
    assert settings.interval == timedelta(minutes=2)
    assert settings.listen is None
    assert (settings.lease_namespace, settings.lease_duration) == ("ops", timedelta(seconds=20))
    assert settings.status_author_name == "Release Bot"
    assert (settings.backoff_base, settings.backoff_max) == (
        timedelta(seconds=10),
        timedelta(minutes=5),
    )
    assert settings.log_format == "json"


def test_the_lease_lives_in_the_pods_namespace_unless_one_is_named() -> None:
    settings = run_settings({}, {"url": "file:///r"}, pod_namespace="harmonia-system")
    assert settings.lease_namespace == "harmonia-system"


def test_a_zero_interval_is_refused() -> None:
    with pytest.raises(SettingsError, match="interval must be longer than zero"):
        run_settings({}, {"url": "file:///r", "interval": timedelta(0)}, pod_namespace=None)


def test_a_config_file_with_run_settings_passes_the_policy_schema(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: harmonia.dev/v1alpha1\n"
        "kind: ReconcilerConfig\n"
        "allowedNamespaces: [shop]\n"
        "repository: {url: 'https://git.example/r.git', ref: main}\n"
        "interval: 1m30s\n"
        "leaderElection: {enabled: true, name: harmonia}\n"
        "status: {enabled: false}\n"
        "listen: 0.0.0.0:8080\n"
        "apiScope: all\n"
    )
    assert load_policy(config).allowed_namespaces == ("shop",)


def test_a_misspelt_run_setting_is_named_with_its_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\ninterval: soon\n")
    with pytest.raises(PolicyConfigError) as raised:
        load_policy(config)
    assert ":3:" in str(raised.value)
    assert "interval" in str(raised.value)


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (("--interval", "soon"), "--interval: 'soon' is not a duration"),
        (("--lease-duration", "1d"), "--lease-duration: '1d' is not a duration"),
        (("--offline",), "--offline: harmonia run needs the cluster"),
        ((), "no repository: give --repo URL"),
    ],
)
def test_bad_run_flags_exit_2_naming_the_flag_before_touching_git_or_a_cluster(
    flags: tuple[str, ...], said: str, tmp_path: Path
) -> None:
    repo = () if not flags else ("--repo", str(tmp_path / "nowhere.git"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HARMONIA_REPO")}
    environment["KUBECONFIG"] = str(tmp_path / "no-kubeconfig")
    ran = subprocess.run(
        [sys.executable, "-m", "reconciler", "run", "--once", *repo, *flags],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 2, ran.stderr
    assert said in ran.stderr


def test_the_webhook_secret_file_comes_from_the_config_file_unless_a_flag_names_one(
    tmp_path: Path,
) -> None:
    document = {"repository": {"url": "https://h/r.git"}, "webhooks": {"secretFile": "/a"}}
    assert run_settings(document, {}, pod_namespace=None).webhook_secret_file == Path("/a")
    flagged = run_settings(document, {"webhook_secret_file": Path("/b")}, pod_namespace=None)
    assert flagged.webhook_secret_file == Path("/b")
    assert run_settings({}, {"url": "u"}, pod_namespace=None).webhook_secret_file is None
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\n"
        "webhooks: {secretFile: /etc/harmonia/webhook/secret}\n"
    )
    load_policy(config)  # the schema knows the key


def test_with_push_webhooks_the_interval_is_a_safety_net_unless_one_is_given() -> None:
    hooked = {"url": "u", "webhook_secret_file": Path("/s")}
    assert run_settings({}, hooked, pod_namespace=None).interval == timedelta(minutes=10)
    given = run_settings({}, {**hooked, "interval": timedelta(seconds=30)}, pod_namespace=None)
    assert given.interval == timedelta(seconds=30)
    assert run_settings({}, {"url": "u"}, pod_namespace=None).interval == timedelta(minutes=1)


def test_the_environment_comes_from_the_config_file_unless_a_flag_or_variable_names_one(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: harmonia.dev/v1alpha1\nkind: ReconcilerConfig\n"
        "repository: {url: 'https://git.example/r.git', environment: prod}\n"
    )
    load_policy(config)  # the schema takes it
    document = {"repository": {"url": "https://git.example/r.git", "environment": "prod"}}
    assert run_settings(document, {}, pod_namespace=None).environment == "prod"
    flags = {"environment": "staging"}
    assert run_settings(document, flags, pod_namespace=None).environment == "staging"
    assert run_settings({}, {"url": "file:///r"}, pod_namespace=None).environment is None


def test_sharding_is_off_unless_the_config_file_or_the_flag_turns_it_on() -> None:
    assert run_settings({}, {"url": "file:///r"}, pod_namespace=None).sharding is False
    on = {"sharding": {"enabled": True}}
    assert run_settings(on, {"url": "file:///r"}, pod_namespace=None).sharding is True
    flag_off = {"url": "file:///r", "sharding": False}
    assert run_settings(on, flag_off, pod_namespace=None).sharding is False
