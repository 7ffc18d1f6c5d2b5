"""`ebonite copy` moves a registry between fsspec stores, S3 and a local store: local -> SFTP -> Azure Blob ->
S3 (moto's server) -> FTP, each hop by the command (run in this process: the servers are real, and the
command's own tests run it as a subprocess), each target checked by `ebonite verify`."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from fsspec_stores import Store
from services import service_unavailable

from ebonite_core import Ebonite
from ebonite_core.cli import main
from ebonite_core.testing import ScaleModel


def _s3_servers() -> Any:
    """tests/s3/s3_servers.py (moto's server as a process), loaded by path: tests/s3 is not a package."""
    if "s3_servers" not in sys.modules:
        spec = importlib.util.spec_from_file_location("s3_servers", Path(__file__).parents[1] / "s3" / "s3_servers.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["s3_servers"] = module
        spec.loader.exec_module(module)
    return sys.modules["s3_servers"]


@pytest.fixture
def s3_bucket(tmp_path_factory: pytest.TempPathFactory) -> Any:
    servers = _s3_servers()
    server = servers.MotoServer(tmp_path_factory.mktemp("moto"))
    try:
        server.start()
    except servers.ServerUnavailable as err:
        service_unavailable(f"moto cannot be started: {err}")
    server.client().create_bucket(Bucket="registry")
    yield server
    server.stop(grace=5)


def _config(path: Path, metadata: Path, artifact: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"metadata": {"type": "local", "path": str(metadata)}, "artifact": artifact}))
    return path


def test_copy_moves_a_registry_across_fsspec_stores_s3_and_local(
    sftp_store: Store,
    azure_store: Store,
    ftp_store: Store,
    s3_bucket: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = Ebonite.local(tmp_path / "source")
    task = source.get_or_create_task("demo", "scale")
    for factor in (2.0, 3.0):
        task.create_and_push_model(ScaleModel(factor), [1.0], f"x{int(factor)}", tags={"stage": "candidate"})
    source.set_alias(task, "champion", source.get_model("x3", task))
    hops = [
        ("sftp", {"type": "fsspec", **sftp_store.artifact_kwargs}),
        ("azure", {"type": "fsspec", **azure_store.artifact_kwargs}),
        ("s3", {"type": "s3", "bucket_name": "registry", "endpoint": s3_bucket.endpoint}),
        ("ftp", {"type": "fsspec", **ftp_store.artifact_kwargs}),
    ]
    for variable, value in _s3_servers().TEST_ENVIRONMENT.items():
        monkeypatch.setenv(variable, value)
    source_artifacts = {"type": "local", "path": str(tmp_path / "source/artifacts")}
    previous = _config(tmp_path / "source.json", tmp_path / "source/metadata.json", source_artifacts)
    for name, artifact in hops:
        target = _config(tmp_path / f"{name}.json", tmp_path / f"{name}-metadata.json", artifact)
        assert main(["copy", "--config", str(previous), "--to", str(target)]) == 0, capsys.readouterr().err
        assert "2 models: 2 copied" in capsys.readouterr().out
        assert main(["verify", "--config", str(target)]) == 0, (name, capsys.readouterr())
        previous = target

    last = Ebonite.from_config(previous)
    arrived = last.get_model_by_alias(last.get_task("demo", "scale"), "champion")
    assert arrived is not None and arrived.name == "x3" and arrived.tags == {"stage": "candidate"}
    assert arrived.predict([2.0]) == [6.0]
    assert last.get_model("x2", "scale", "demo").predict([2.0]) == [4.0]
