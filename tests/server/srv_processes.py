"""Server processes for the ebonite-server tests: `ebonite serve` itself, and the test launcher
(``srv_launcher.py``: the same application plus a reset route that exists only in the test tree).

Every server listens on 127.0.0.1 on a port the system picks (``--port 0``); the port is read from the line
``ebonite serve`` prints. Waits are bounded, and a server that does not come up is reported with its log.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from services import stop_process

STARTUP_SECONDS = 60.0
LOCAL_REGISTRY = """[metadata]
type = "local"
path = "store/metadata.json"

[artifact]
type = "local"
path = "store/artifacts"
"""
_ADDRESS = re.compile(r"ebonite serve: (https?://127\.0\.0\.1:\d+)")


class ServerUnavailable(RuntimeError):
    """The server did not start; the message has its log."""


def ebonite_command(*arguments: str) -> list[str]:
    """The `ebonite` command line, run by this interpreter."""
    return [sys.executable, "-c", "import sys; from ebonite_core.cli import main; sys.exit(main())", *arguments]


def run_ebonite(*arguments: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ebonite_command(*arguments), cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


class ServerProcess:
    """One server process; ``url`` once started."""

    def __init__(self, command: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.command = command
        self.workdir = workdir
        self.env = env
        self.log = workdir / f"server-{time.monotonic_ns()}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> ServerProcess:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.workdir, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerUnavailable(f"the server exited with {self.process.returncode}: {self.log_text()[-2000:]}")
            found = _ADDRESS.search(self.log_text())
            if found:
                self.url = found.group(1)
                try:
                    if httpx.get(f"{self.url}/api/v1/health", timeout=5).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise ServerUnavailable(f"the server did not answer within {STARTUP_SECONDS} s: {self.log_text()[-2000:]}")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        stop_process(self.process, grace=30)


def serve(config: Path, *extra: str, env: dict[str, str] | None = None) -> ServerProcess:
    """`ebonite serve --config CONFIG --port 0`, started."""
    command = ebonite_command("serve", "--config", str(config), "--host", "127.0.0.1", "--port", "0", *extra)
    return ServerProcess(command, config.parent, env).start()


def launch_test_server(
    kind: str, root: Path, s3_endpoint: str | None = None, env: dict[str, str] | None = None
) -> ServerProcess:
    """The test launcher on a fresh store of ``kind`` (``local`` or ``sql-s3``) under ``root``."""
    command = [sys.executable, str(Path(__file__).with_name("srv_launcher.py")), "--kind", kind, "--root", str(root)]
    if s3_endpoint:
        command += ["--s3-endpoint", s3_endpoint]
    return ServerProcess(command, root, env if env is not None else dict(os.environ)).start()


@dataclass
class LaunchedServer:
    """A launcher process: its URL, its registry-wide admin token, and its test routes (a reset to a fresh
    empty store, a damaged model record)."""

    process: ServerProcess
    token: str

    @property
    def url(self) -> str:
        return self.process.url

    def reset(self) -> None:
        self._test_route("/_test/reset")

    def damage_model_record(self, model_id: str) -> None:
        """Break the stored record of a model in the store behind the server, as a hand edit would."""
        self._test_route(f"/_test/damage/{model_id}")

    def plant(self, name: str) -> None:
        """Put a user's files where a key called ``name`` would be in the store behind the server."""
        self._test_route(f"/_test/foreign/{name}")

    def present(self, name: str) -> bool:
        """Whether every file :meth:`plant` put there is still there."""
        response = httpx.get(f"{self.url}/_test/foreign/{name}", headers=self._admin, timeout=60)
        assert response.status_code in (204, 404), response.text
        return response.status_code == 204

    @property
    def _admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _test_route(self, path: str) -> None:
        response = httpx.post(f"{self.url}{path}", headers=self._admin, timeout=60)
        assert response.status_code == 204, response.text
