"""`ebonite token` and `ebonite serve` as an operator uses them: the same --config, the same tokens; anonymous
access off unless configured; a client config with `type = "http"` that works and saves without its token."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ebonite_server.protocol import AccessDeniedError, UnauthenticatedError
from srv_processes import ServerProcess, run_ebonite, serve

from ebonite_core import Ebonite, NonExistingModelError, NonExistingProjectError
from ebonite_core.testing import ScaleModel

REGISTRY = (
    '[metadata]\ntype = "local"\npath = "store/metadata.json"\n\n[artifact]\ntype = "local"\npath = "store/artifacts"\n'
)


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ServerProcess]]:
    """A registry.toml, and `ebonite serve --config registry.toml` on it (no token made yet)."""
    root = tmp_path_factory.mktemp("operator")
    (root / "registry.toml").write_text(REGISTRY)
    server = serve(root / "registry.toml")
    yield root, server
    server.stop()


def _client_config(path: Path, url: str) -> Path:
    section = f'type = "http"\nurl = "{url}"\ntoken = "${{EBONITE_TOKEN}}"\n'
    path.write_text(f"[metadata]\n{section}\n[artifact]\n{section}")
    return path


def _token(root: Path, *arguments: str) -> str:
    result = run_ebonite("token", "create", "--config", "registry.toml", *arguments, cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_token_made_by_the_cli_works_with_the_running_server(
    operator: tuple[Path, ServerProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, server = operator
    output = _token(root, "--project", "fraud", "--role", "write")
    token = output.strip()
    assert output == token + "\n" and token.startswith("ebt_")  # the token and nothing else on stdout
    monkeypatch.setenv("EBONITE_TOKEN", token)
    config = _client_config(tmp_path / "client.toml", server.url)
    ebnt = Ebonite.from_config(config)
    task = ebnt.get_or_create_task("fraud", "detector")
    model = task.create_and_push_model(ScaleModel(4.0), [1.0], "m1", tags={"stage": "candidate"})
    assert Ebonite.from_config(config).get_model("m1", "detector", "fraud").predict([2.0]) == [8.0]
    ebnt.set_model_tags(model, {"stage": "production"})
    assert [found.name for found in ebnt.search_models(tags={"stage": "production"})] == ["m1"]
    ebnt.delete_model(model)
    with pytest.raises(NonExistingModelError):  # the server's error class, raised again on the client
        ebnt.meta_repo.delete_model(model)
    with pytest.raises(NonExistingProjectError):
        ebnt.get_or_create_task("churn", "task")  # another project: not there for this token

    source = Ebonite.local(tmp_path / "laptop" / ".ebonite")  # `ebonite copy` into the server, as any other registry
    source.get_or_create_task("fraud", "imported").create_and_push_model(ScaleModel(5.0), [1.0], "old")
    copied = run_ebonite("copy", "--to", str(config), "fraud", cwd=tmp_path / "laptop", env={**os.environ})
    assert copied.returncode == 0, copied.stderr
    assert ebnt.get_model("old", "imported", "fraud").predict([1.0]) == [5.0]

    assert ebnt.save_config(tmp_path / "saved.toml") == []
    saved = (tmp_path / "saved.toml").read_text()
    assert token not in saved and saved.count('token = "${EBONITE_TOKEN}"') == 2

    state = root / "registry.server.sqlite3"  # beside the config, readable by its owner only
    assert state.exists() and (state.stat().st_mode & 0o077) == 0
    listing = run_ebonite("token", "list", "--config", "registry.toml", "--json", cwd=root)
    rows = json.loads(listing.stdout)
    [row] = [row for row in rows if row["project"] == "fraud"]
    assert row["role"] == "write" and token not in listing.stdout and token.split("_", 2)[2] not in listing.stdout
    revoked = run_ebonite("token", "revoke", row["id"], "--config", "registry.toml", cwd=root)
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(UnauthenticatedError):
        Ebonite.from_config(config).get_projects()
    again = run_ebonite("token", "revoke", row["id"], "--config", "registry.toml", cwd=root)
    assert again.returncode == 1 and "token list" in again.stderr


def test_anonymous_access_is_off_until_configured(
    operator: tuple[Path, ServerProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, server = operator
    monkeypatch.setenv("EBONITE_TOKEN", _token(root, "--project", "public", "--role", "write").strip())
    Ebonite.from_config(_client_config(tmp_path / "writer.toml", server.url)).get_or_create_task("public", "t")
    anonymous = Ebonite.custom_client("http", "http", {"url": server.url}, {"url": server.url})
    with pytest.raises(UnauthenticatedError):
        anonymous.get_projects()
    assert _token(root, "--anonymous", "--project", "public", "--role", "read") == ""
    assert [project.name for project in anonymous.get_projects()] == ["public"]
    with pytest.raises(AccessDeniedError):
        anonymous.get_or_create_task("public", "new-task")
    refused = run_ebonite(
        "token", "create", "--anonymous", "--project", "x", "--role", "write", "--config", "registry.toml", cwd=root
    )
    assert refused.returncode == 2 and "read" in refused.stderr


def test_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "registry.toml").write_text(REGISTRY)
    bad_role = run_ebonite(
        "token", "create", "--project", "p", "--role", "owner", "--config", "registry.toml", cwd=tmp_path
    )
    assert bad_role.returncode == 2
    bad_name = run_ebonite(
        "token", "create", "--project", "a/b", "--role", "read", "--config", "registry.toml", cwd=tmp_path
    )
    assert bad_name.returncode == 2 and "a/b" in bad_name.stderr
    no_config = run_ebonite(
        "serve", "--port", "0", cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "EBONITE_CONFIG"}
    )
    assert no_config.returncode == 2 and "--config" in no_config.stderr
    assert not (tmp_path / "registry.server.sqlite3").exists()
