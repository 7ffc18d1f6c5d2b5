"""Eight client processes pushing and deleting through one server at once: nothing lost, nothing left over."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ebonite_server.client import HttpArtifactRepository, HttpMetadataRepository
from ebonite_server.state import ServerState
from srv_processes import LOCAL_REGISTRY, serve

from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel
from ebonite_core.testing.processes import run_together

CLIENTS = 8
MODELS = 6


def _client_work(worker: int, ready: Callable[[], Any], url: str, token: str) -> dict[str, Any]:
    """Push MODELS models (each its own factor) into one shared task, deleting every other one."""
    ebnt = Ebonite(HttpMetadataRepository(url, token), HttpArtifactRepository(url, token))
    ready()
    task = ebnt.get_or_create_task("shared", "task")
    kept = []
    for index in range(MODELS):
        model = task.create_and_push_model(ScaleModel(float(worker * 100 + index)), [1.0], f"w{worker}-m{index}")
        if index % 2:
            ebnt.delete_model(model)
        else:
            kept.append(model.name)
    return {"kept": kept}


def test_eight_clients_push_and_delete_at_once(tmp_path: Path) -> None:
    config = tmp_path / "registry.toml"
    config.write_text(LOCAL_REGISTRY)
    token = ServerState(tmp_path / "registry.server.sqlite3").create_token("shared", "write")[0]
    server = serve(config, "--workers", "2")  # two worker processes share the store and the state file
    try:
        outcomes = run_together(functools.partial(_client_work, url=server.url, token=token), CLIENTS)
        ebnt = Ebonite(HttpMetadataRepository(server.url, token), HttpArtifactRepository(server.url, token))
        models = ebnt.get_models("task", "shared")
        expected = {name for outcome in outcomes for name in outcome["kept"]}
        assert {model.name for model in models} == expected and len(expected) == CLIENTS * MODELS // 2
        assert set(ebnt.artifact_repo.keys()) == {model.artifact_key for model in models}
        for model in models:
            worker, index = (int(part[1:]) for part in model.name.split("-"))
            assert model.predict([1.0]) == [float(worker * 100 + index)]
        direct = Ebonite.from_config(config)  # the store itself agrees: nothing extra, nothing missing
        assert set(direct.artifact_repo.keys()) == {model.artifact_key for model in models}
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _no_environment_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EBONITE_CONFIG", raising=False)
