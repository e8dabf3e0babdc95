"""`harmonia import-walm`: WALM's release requests, or its release list, as release files.

A thin shell over release_requests/walm_import.py: reads SOURCE, writes one release file per release
into a repository folder (or all of them to stdout) and reports on stderr what stayed behind.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import click

from reconciler.release_requests.loader import REPOSITORY_FILE
from reconciler.release_requests.model import RepoChart, RepositoryConfig
from reconciler.release_requests.walm_import import (
    ImportedRelease,
    ImportFailure,
    WalmBody,
    import_walm_bodies,
    parse_walm_text,
    release_file_text,
    repository_file_problems,
    repository_file_text,
    walm_bodies,
)
from reconciler.release_requests.yaml_source import read_yaml_file
from reconciler.render.plugins import KNOWN_PLUGINS, validate_plugins
from reconciler.render.plugins.args import DNS_LABEL
from reconciler.types import split_release_key

BODY_SUFFIXES = (".json", ".yaml", ".yml")
STDOUT = "-"


def _namespace(_context: click.Context, _parameter: click.Parameter, value: str | None) -> str:
    if value is not None and (len(value) > 63 or not DNS_LABEL.match(value)):
        raise click.BadParameter(f"'{value}' is not a namespace name (a DNS-1123 label)")
    return value or ""


def _chart_repositories(
    _context: click.Context, _parameter: click.Parameter, values: Sequence[str]
) -> dict[str, str]:
    repositories = {}
    for value in values:
        name, _, url = value.partition("=")
        if not name or not url:
            raise click.BadParameter(
                f"'{value}': write NAME=URL, e.g. qa=https://charts.example/qa"
            )
        repositories[name] = url
    return repositories


@click.command("import-walm")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-n",
    "--namespace",
    callback=_namespace,
    help="The namespace of bodies without one (WALM took it from the URL); a body's own wins.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="DIR|-",
    help="The repository folder to write releases/<namespace>/<name>.yaml into; - for stdout.",
)
@click.option("--force", is_flag=True, help="Overwrite release files that exist.")
@click.option(
    "--adopt", is_flag=True, help="Write adopt: true, to take over the objects WALM created."
)
@click.option(
    "--chart-repo",
    "chart_repositories",
    multiple=True,
    metavar="NAME=URL",
    callback=_chart_repositories,
    help="A chart repository for the harmonia.yaml written when DIR has none; repeatable.",
)
def import_walm(
    source: Path,
    namespace: str,
    output: str,
    force: bool,
    adopt: bool,
    chart_repositories: dict[str, str],
) -> None:
    """Convert WALM release request bodies into Harmonia release files.

    SOURCE is a folder of bodies (.json, .yaml, .yml), one file, or the JSON of WALM's
    release list API ({"num", "items"} or a plain list). What did not carry over is listed
    on stderr. Exit 0 when every release converted (notes allowed), 1 when one could not
    be converted or a file exists (without --force; nothing is written then), 2 on a
    usage error.
    """
    bodies, failures = _read_source(source)
    converted, rejected = import_walm_bodies(
        bodies, default_namespace=namespace or None, known_plugins=KNOWN_PLUGINS, adopt=adopt
    )
    imported, bad_plugins = _with_valid_plugins(converted)
    failures += [*rejected, *bad_plugins]
    for item in imported:
        for note in item.notes:
            click.echo(f"{item.source}: {item.key}: {note.path}: {note.message}", err=True)
    written = True
    if output == STDOUT:
        click.echo("---\n".join(release_file_text(item) for item in imported), nl=False)
    elif imported:
        try:
            written = _write_repository(Path(output), imported, force, chart_repositories)
        except OSError as error:
            click.echo(f"{output}: error: cannot write: {error}", err=True)
            written = False
    for failure in failures:
        for reason in failure.reasons:
            click.echo(f"{failure.source}: error: {reason}", err=True)
    if not imported and not failures:
        click.echo(f"error: no WALM release bodies in {source}", err=True)
    where = "stdout" if output == STDOUT else output
    outcome = f"imported to {where}" if written else f"converted, none written to {where}"
    notes = sum(len(item.notes) for item in imported)
    click.echo(
        f"{_counted(len(imported), 'release')} {outcome} ({_counted(notes, 'note')}), "
        f"{_counted(len(failures), 'body', 'bodies')} could not be converted",
        err=True,
    )
    raise click.exceptions.Exit(0 if imported and written and not failures else 1)


def _counted(count: int, word: str, plural: str = "") -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _read_source(source: Path) -> tuple[list[WalmBody], list[ImportFailure]]:
    files = [source] if source.is_file() else _body_files(source)
    bodies: list[WalmBody] = []
    failures: list[ImportFailure] = []
    for path in files:
        shown = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            failures.append(ImportFailure(shown, (f"cannot read the file: {error}",)))
            continue
        value = parse_walm_text(text, source=shown, is_json=path.suffix not in (".yaml", ".yml"))
        if isinstance(value, ImportFailure):
            failures.append(value)
        else:
            bodies.extend(walm_bodies(value, source=shown))
    return bodies, failures


def _body_files(folder: Path) -> list[Path]:
    """The folder's body files in a stable order; hidden ones and other suffixes skipped."""
    found = []
    for path in sorted(folder.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if not path.is_file() or hidden:
            continue
        if path.suffix in BODY_SUFFIXES:
            found.append(path)
        else:
            click.echo(f"{path}: warning: skipped, not a {'/'.join(BODY_SUFFIXES)} file", err=True)
    return found


def _with_valid_plugins(
    imported: Sequence[ImportedRelease],
) -> tuple[list[ImportedRelease], list[ImportFailure]]:
    """Plugin args are checked by the plugins themselves, which the release-requests layer
    cannot see."""
    valid, failures = [], []
    for item in imported:
        problems = validate_plugins(item.release.plugins)
        if problems:
            failures.append(ImportFailure(item.source, tuple(problems)))
        else:
            valid.append(item)
    return valid, failures


def _write_repository(
    root: Path, imported: Sequence[ImportedRelease], force: bool, repositories: dict[str, str]
) -> bool:
    """Write the release files (none when one exists without `force`), and a `harmonia.yaml`
    when `root` has none. False when files were refused."""
    config_file = root / REPOSITORY_FILE
    existing = _existing_config(config_file)
    config_text = repository_file_text(repositories) if existing is None else None
    problems = (
        repository_file_problems(config_text, display_name=str(config_file))
        if config_text is not None
        else ()
    )
    if problems:
        for problem in problems:
            click.echo(f"{problem.render()}; nothing was written", err=True)
        return False
    releases_dir = existing.releases_dir if existing else RepositoryConfig.releases_dir
    targets = {item.key: _release_path(root / releases_dir, item) for item in imported}
    taken = [path for path in targets.values() if path.exists()]
    if taken and not force:
        for path in taken:
            click.echo(f"{path}: error: exists; pass --force to overwrite", err=True)
        return False
    for item in imported:
        target = targets[item.key]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(release_file_text(item), encoding="utf-8")
    if config_text is not None:
        config_file.write_text(config_text, encoding="utf-8")
    elif repositories:
        click.echo(
            f"{config_file}: warning: exists, so --chart-repo was not written; add them "
            "under chartRepositories there",
            err=True,
        )
    known = existing.chart_repositories if existing else repositories
    _warn_unknown_repositories(config_file, imported, known)
    return True


def _existing_config(path: Path) -> RepositoryConfig | None:
    """The settings import-walm needs from an existing `harmonia.yaml` (None: no file)."""
    if not path.is_file():
        return None
    read = read_yaml_file(path, display_name=str(path))
    data = read.document.data if read.document else {}
    folder = data.get("releasesDir")
    repositories = data.get("chartRepositories")
    return RepositoryConfig(
        releases_dir=folder if isinstance(folder, str) else RepositoryConfig.releases_dir,
        chart_repositories=(
            {str(name): str(url) for name, url in repositories.items()}
            if isinstance(repositories, dict)
            else {}
        ),
    )


def _release_path(folder: Path, item: ImportedRelease) -> Path:
    namespace, name = split_release_key(item.key)
    return folder / namespace / f"{name}.yaml"


def _warn_unknown_repositories(
    config_file: Path, imported: Sequence[ImportedRelease], known: Mapping[str, str]
) -> None:
    users: dict[str, list[str]] = {}
    for item in imported:
        chart = item.release.chart
        if isinstance(chart, RepoChart) and chart.repo_name not in known:
            users.setdefault(chart.repo_name, []).append(item.key)
    for name, releases in sorted(users.items()):
        click.echo(
            f"{config_file}: warning: chart repository '{name}' (used by {', '.join(releases)}) "
            f"has no URL; add it under chartRepositories, or pass --chart-repo {name}=URL",
            err=True,
        )


COMMANDS = (import_walm,)
