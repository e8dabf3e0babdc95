"""Whether a recorded component still runs: real processes, no cluster."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from devcluster.state import ProcessRecord, is_running


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A process running a copy of `sleep` of its own, as a component runs its binary."""
    sleep = shutil.which("sleep")
    assert sleep is not None
    binary = tmp_path / "component"
    shutil.copy(sleep, binary)
    process = subprocess.Popen([str(binary), "60"])
    yield process, binary
    process.kill()
    process.wait()


def test_a_component_runs_while_its_process_runs_its_binary(
    sleeper: tuple[subprocess.Popen[bytes], Path],
) -> None:
    process, binary = sleeper
    assert is_running(ProcessRecord(pid=process.pid, binary=str(binary), log=""))
    assert not is_running(ProcessRecord(pid=process.pid, binary="/other/binary", log=""))
    process.kill()
    process.wait()
    assert not is_running(ProcessRecord(pid=process.pid, binary=str(binary), log=""))


def test_a_component_whose_binary_was_removed_still_runs(
    sleeper: tuple[subprocess.Popen[bytes], Path],
) -> None:
    """The cache folder cleared under a running cluster: `down` must still stop it."""
    process, binary = sleeper
    binary.unlink()
    assert is_running(ProcessRecord(pid=process.pid, binary=str(binary), log=""))
