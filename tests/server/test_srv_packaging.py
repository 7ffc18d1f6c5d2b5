"""ebonite-server is found through its entry point, imports neither httpx nor Starlette until used, and its
`http` types work installed from the sdist (the client side needs no server packages)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from ebonite_server.state import ServerState
from srv_processes import LOCAL_REGISTRY, serve

# Resolves "http" by name only, pushes a model through the server, loads it back, says where things came from.
ROUND_TRIP = """
import json, sys
from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel

before = "ebonite_server" in sys.modules
options = {"url": sys.argv[1], "token": sys.argv[2]}
ebnt = Ebonite.custom_client("http", "http", options, options)
ebnt.get_or_create_task("project", "task").create_and_push_model(ScaleModel(4.0), [1.0], "model")
import ebonite_server
print(json.dumps({
    "imported_before": before,
    "class": type(ebnt.meta_repo).__module__ + "." + type(ebnt.meta_repo).__qualname__,
    "prediction": Ebonite.custom_client("http", "http", options, options).get_model("model", "task", "project")
    .predict([1.0, 2.0]),
    "module_file": ebonite_server.__file__,
}))
"""


def _run(python: str | Path, script: str, *arguments: str, cwd: Path | None = None) -> dict[str, object]:
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(script), *arguments], capture_output=True, text=True, cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_plugin_module_imports_neither_httpx_nor_starlette() -> None:
    heavy = ("httpx", "starlette", "uvicorn", "sqlite3")
    report = _run(
        sys.executable,
        f"import json, sys, ebonite_server.plugin; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))",
    )
    assert report == []


def test_installed_from_its_sdist_the_http_types_push_and_load(sdist_environment: Path, tmp_path: Path) -> None:
    (tmp_path / "registry.toml").write_text(LOCAL_REGISTRY)
    token = ServerState(tmp_path / "registry.server.sqlite3").create_token("project", "write")[0]
    server = serve(tmp_path / "registry.toml")
    try:
        report = _run(sdist_environment, ROUND_TRIP, server.url, token, cwd=tmp_path)
    finally:
        server.stop()
    assert report["imported_before"] is False
    assert report["class"] == "ebonite_server.client.HttpMetadataRepository"
    assert report["prediction"] == [4.0, 8.0]
    assert Path(str(report["module_file"])).is_relative_to(sdist_environment.parents[1])
