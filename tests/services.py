"""What the tests need of the machine, in one place: the rule for a service that cannot be had, stopping a
server process, and mounts.

Tests that need a server (PostgreSQL, MariaDB, S3) or a file system of their own call
:func:`service_unavailable` when they cannot get it: the test is skipped with the reason, except when
``EBONITE_REQUIRE_SERVICES=1`` (set by ``.ci/run``), where the run fails instead. The servers themselves start
through the helper modules of each directory (``s3_servers``, ``sql_servers``, ``fsspec_servers``,
``srv_processes``), which stop them with :func:`stop_process`. Every directory of ``tests`` can
``import services`` (``pythonpath`` in ``pyproject.toml``); a script that imports those helpers (a benchmark,
a server's own process) puts ``tests`` on its ``sys.path`` itself.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REQUIRE_SERVICES = os.environ.get("EBONITE_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> None:
    """Skip (or, under EBONITE_REQUIRE_SERVICES=1, fail) the current test because a service is missing."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (EBONITE_REQUIRE_SERVICES=1: a missing service fails the run)", pytrace=False)
    pytest.skip(reason)


def stop_process(process: subprocess.Popen | None, grace: float) -> None:
    """SIGTERM, then SIGKILL if ``process`` has not exited within ``grace`` seconds (nothing if it has exited).

    Throwaway servers get a short ``grace``; one whose data a test reads after a restart, a longer one."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def mount(what: str, target: Path, *arguments: str) -> None:
    """``mount [arguments] what target`` (root is needed: the tests run as root); a mount that cannot be made
    is :func:`service_unavailable`."""
    try:
        result = subprocess.run(["mount", *arguments, what, str(target)], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        service_unavailable(f"cannot mount {what}: {err}")
    if result.returncode != 0:
        service_unavailable(f"cannot mount {what} (root is needed): {result.stderr.strip()}")


def unmount(target: Path) -> None:
    if subprocess.run(["umount", str(target)], capture_output=True).returncode != 0:
        # Something still holds a file open there (a failed test's leftover process): detach it anyway.
        subprocess.run(["umount", "--lazy", str(target)], check=True, capture_output=True)
