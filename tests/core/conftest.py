"""Fixtures of the core tests: the console script in a test directory, a real registry, a file system with
coarse timestamps, a read-only view of a directory."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_support import Cli
from services import mount, service_unavailable, unmount

from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    env = {name: value for name, value in os.environ.items() if name != "EBONITE_CONFIG"}
    # A temporary directory of the test's own: `ebonite gc` also cleans the system's, which other processes share.
    (tmp_path / "system-tmp").mkdir()
    env["TMPDIR"] = str(tmp_path / "system-tmp")
    return Cli(tmp_path, env)


@pytest.fixture
def registry(tmp_path: Path) -> Ebonite:
    """``.ebonite`` in the test's directory: demo/iris/{scale, triple}, an empty demo/wine, other/t/small."""
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    iris = ebnt.get_or_create_task("demo", "iris")
    iris.create_and_push_model(ScaleModel(2.0), [1.0, 2.0], "scale", params={"factor": 2.0}, description="doubles")
    iris.create_and_push_model(ScaleModel(3.0, b"x" * 5000), [1.0, 2.0], "triple")
    ebnt.get_or_create_task("demo", "wine")
    ebnt.create_model(ScaleModel(0.5), [4.0], "small", project_name="other", task_name="t")
    return ebnt


@pytest.fixture
def coarse_timestamps(tmp_path: Path) -> Iterator[Path]:
    """A directory on an ext4 file system of its own made with 128-byte inodes, whose timestamps have a
    resolution of one second (as on NFS, SMB, or kernels before 6.13): where two writes within a second can
    leave a file with the same inode, size and modification time. Mounting needs root (the tests run as root)."""
    image = tmp_path / "ext4.img"
    with open(image, "wb") as file:
        file.truncate(64 * 1024 * 1024)
    made = subprocess.run(["mkfs.ext4", "-q", "-I", "128", str(image)], capture_output=True, text=True)
    if made.returncode != 0:
        service_unavailable(f"cannot make an ext4 file system: {made.stderr.strip()}")
    target = tmp_path / "ext4"
    target.mkdir()
    mount(str(image), target, "-o", "loop")
    try:
        yield target
    finally:
        unmount(target)


@pytest.fixture
def read_only_view(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """``read_only_view(directory)``: the directory bind-mounted read-only under ``tmp_path`` (a store baked into
    an image, a shared read-only volume): every write there fails with EROFS, whoever the writer is. Mounting
    needs root (the tests run as root)."""
    mounted: list[Path] = []

    def view(directory: Path) -> Path:
        target = tmp_path / f"read-only-{len(mounted)}"
        target.mkdir()
        mount(str(directory), target, "--bind")
        mounted.append(target)  # unmounted after the test, whatever happens next
        mount(str(target), target, "-o", "remount,bind,ro")
        return target

    yield view
    for target in reversed(mounted):
        unmount(target)
