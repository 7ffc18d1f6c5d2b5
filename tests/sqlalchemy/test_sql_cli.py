"""`ebonite db current` / `ebonite db upgrade` (the plugin's commands, through the ebonite_commands hook), and
the sqlalchemy repository in config files: its URL's password is never written in clear."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from ebonite_sqlalchemy import SQLAlchemyMetaRepository
from ebonite_sqlalchemy.migrate import head_revision
from sql_helpers import migrate_to
from sql_servers import PostgresServer
from sqlalchemy.engine import make_url

from ebonite_core import Ebonite, RepositoryError
from ebonite_core.cli.main import main
from ebonite_core.testing import ScaleModel

EBONITE = str(Path(sys.executable).parent / "ebonite")
FIRST_REVISION = "0001"


def ebonite(*args: str | Path, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name != "EBONITE_CONFIG"}
    return subprocess.run(
        [EBONITE, *map(str, args)], cwd=cwd, env={**environment, **env}, capture_output=True, text=True, input=""
    )


def sql_config(path: Path, db_url: str) -> Path:
    path.write_text(json.dumps({"metadata": {"type": "sqlalchemy", "db_uri": db_url}, "artifact": {"type": "local"}}))
    return path


def test_db_current_and_upgrade_on_the_configured_database(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate_to(db_url, FIRST_REVISION)
    config = sql_config(tmp_path / "team.json", db_url)

    refused = ebonite("ls", "--config", config, cwd=tmp_path)
    assert refused.returncode == 1 and "upgrade" in refused.stderr, "the repository refuses an old schema"
    current = ebonite("db", "current", "--config", config, cwd=tmp_path)
    assert current.returncode == 0, current.stderr
    assert f"revision {FIRST_REVISION}; newest known: {head_revision()}" in current.stdout
    upgrade = ebonite("db", "upgrade", cwd=tmp_path, EBONITE_CONFIG=str(config))
    assert upgrade.returncode == 0 and f"upgraded from {FIRST_REVISION} to {head_revision()}" in upgrade.stdout
    again = ebonite("db", "upgrade", "--config", config, cwd=tmp_path)
    assert "already at the newest revision" in again.stdout
    assert ebonite("ls", "--config", config, cwd=tmp_path).returncode == 0
    assert "db" in ebonite("--help", cwd=tmp_path).stdout


def test_db_needs_a_sqlalchemy_config(tmp_path: Path) -> None:
    local = tmp_path / "local.json"
    local.write_text(json.dumps({"metadata": {"type": "local"}, "artifact": {"type": "local"}}))
    postgres = sql_config(tmp_path / "postgres.json", "postgres://user:s3cret@localhost/db")
    for args, message in (
        (("db", "current", "--config", local), "works on a 'sqlalchemy' metadata repository; the config names 'local'"),
        (("db", "current"), "ebonite db needs a config file"),
        (("db", "current", "--config", postgres), "Write 'postgresql+psycopg://...'"),  # a usage error too
    ):
        result = ebonite(*args, cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def test_db_errors_never_show_the_password(tmp_path: Path) -> None:
    config = sql_config(tmp_path / "bad.json", "nosuchdialect://user:s3cret@localhost/db")
    result = ebonite("db", "upgrade", "--config", config, cwd=tmp_path)
    assert result.returncode == 1 and "user:***@localhost" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout and result.stderr.count("\n") == 1


@pytest.mark.parametrize("backend", ["postgresql"])
def test_save_config_masks_the_database_password(
    db_url: str, open_repository: Callable[..., SQLAlchemyMetaRepository], tmp_path: Path, monkeypatch
) -> None:
    password = make_url(db_url).password
    assert password, "the test server's URL carries a password"
    ebnt = Ebonite(open_repository(db_url, pool_pre_ping=True), Ebonite.inmemory().artifact_repo)
    ebnt.create_model(ScaleModel(), [1.0], "m", project_name="p", task_name="t")
    config = tmp_path / "team.toml"
    assert ebnt.save_config(config) == ["EBONITE_METADATA_DB_URI_PASSWORD"]
    text = config.read_text()
    assert str(password) not in text and ":${EBONITE_METADATA_DB_URI_PASSWORD}@" in text
    assert "pool_pre_ping = true" in text

    monkeypatch.setenv("EBONITE_METADATA_DB_URI_PASSWORD", str(password))
    reread = Ebonite.from_config(config)
    try:
        assert reread.meta_repo.config() == ebnt.meta_repo.config()
        assert [project.name for project in reread.get_projects()] == ["p"]
    finally:
        reread.close()


def test_passwords_that_sqlalchemy_reads_are_masked_everywhere(
    postgresql_server: PostgresServer, new_database: Callable[[str], str], tmp_path: Path, monkeypatch, capsys
) -> None:
    """``ml:s3/cr#t@`` (SQLAlchemy's password is ``s3/cr#t``) and ``?password=Hunter2secret`` (libpq's): neither
    shows in repr, in save_config's file (which names the variables to set, and reads back the same URL), in
    an error, nor in the command's output."""
    url = postgresql_server.socket_url(new_database("postgresql"), "s3/cr#t", "password=Hunter2secret")
    ebnt = Ebonite(SQLAlchemyMetaRepository(url), Ebonite.inmemory().artifact_repo)
    secrets = ("s3/cr#t", "cr#t", "s3%2Fcr", "Hunter2secret")
    assert not any(secret in repr(ebnt) for secret in secrets), repr(ebnt)
    config = tmp_path / "team.json"
    needed = ebnt.save_config(config)
    assert needed == ["EBONITE_METADATA_DB_URI_PASSWORD", "EBONITE_METADATA_DB_URI_QUERY_PASSWORD"]
    assert not any(secret in config.read_text() for secret in secrets), config.read_text()
    monkeypatch.setenv("EBONITE_METADATA_DB_URI_PASSWORD", "s3%2Fcr%23t")  # as a URL writes it
    monkeypatch.setenv("EBONITE_METADATA_DB_URI_QUERY_PASSWORD", "Hunter2secret")
    reread = Ebonite.from_config(config)
    assert make_url(reread.meta_repo.config()["db_uri"]) == make_url(url)
    reread.close()
    ebnt.close()

    unreachable = url.replace(f"port={postgresql_server.port}", "port=1")
    with pytest.raises(RepositoryError) as raised:
        SQLAlchemyMetaRepository(unreachable)
    shown = "".join(traceback.format_exception(raised.value))
    assert "Cannot reach" in shown and not any(secret in shown for secret in secrets), shown
    sql_config(config, unreachable)
    assert main(["ls", "--config", str(config)]) == 1
    printed = capsys.readouterr()
    assert "Cannot reach" in printed.err and not any(secret in printed.out + printed.err for secret in secrets)
