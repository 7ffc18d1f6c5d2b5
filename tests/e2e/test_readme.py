"""Every command and code block of README.md is checked, as ``tests/core/test_docs.py`` checks the guide.

- ``python`` blocks run in order, as one script, in a fresh directory, against real servers: the example hosts
  (``db.example.com``, ``https://s3.example.com``) are pointed at a PostgreSQL server and moto's S3 server that
  this module starts. ``toml`` blocks whose first line is ``# FILE`` are written there first (same hosts); the
  others must parse.
- ``console`` blocks: ``ebonite`` commands run on a registry holding what they show, and print what the block
  shows (dates, sizes and column widths aside; a block with ``...`` lines shows some of the lines, in order);
  ``make`` targets exist; ``pip install`` names a distribution of this repository, or its directory, with
  extras it declares (``tests/e2e/test_packaging.py`` builds and installs each one).
- ``text`` blocks are messages ebonite prints: each is produced here and compared.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import s3_servers
import sql_servers
from distributions import ROOT, pyproject
from services import service_unavailable

from ebonite_core import Ebonite
from ebonite_core.plugins import PluginRegistry

README = ROOT / "README.md"
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)
DB_PASSWORD = "readme-password"


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README.read_text()) if lang == language]


def test_every_block_has_a_known_language() -> None:
    languages = [lang for lang, _ in BLOCK.findall(README.read_text())]
    assert set(languages) <= {"python", "toml", "console", "text"}, languages


@pytest.fixture(scope="module")
def example_hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """``{README host: test server}``: PostgreSQL with the README's role ``ml`` and database ``registry``,
    moto with its bucket ``models``."""
    try:
        postgres = sql_servers.start_server("postgresql")
    except sql_servers.ServerUnavailable as err:
        service_unavailable(f"PostgreSQL cannot be started: {err}")
    moto = s3_servers.MotoServer(tmp_path_factory.mktemp("moto"))
    try:
        moto.start()
    except s3_servers.ServerUnavailable as err:
        postgres.stop()
        service_unavailable(f"moto cannot be started: {err}")
    try:
        with postgres.admin().connect() as connection:
            connection.exec_driver_sql(f"CREATE ROLE ml LOGIN PASSWORD '{DB_PASSWORD}'")
            connection.exec_driver_sql("CREATE DATABASE registry OWNER ml")
        moto.client().create_bucket(Bucket="models")
        yield {"db.example.com": f"127.0.0.1:{postgres.port}", "https://s3.example.com": moto.endpoint}
    finally:
        moto.stop(grace=5)
        postgres.stop()


def _on_test_servers(text: str, hosts: dict[str, str]) -> str:
    for host, server in hosts.items():
        text = text.replace(host, server)
    return text


def test_python_blocks_run(example_hosts: dict[str, str], tmp_path: Path) -> None:
    python = blocks("python")
    for host in example_hosts:
        assert any(host in body for body in python + blocks("toml")), f"no block uses {host} any more"
    for body in blocks("toml"):
        first = body.splitlines()[0]
        if re.fullmatch(r"# [\w.-]+\.toml", first):
            (tmp_path / first[2:]).write_text(_on_test_servers(body, example_hosts))
    (tmp_path / "readme.py").write_text(_on_test_servers("\n\n".join(python), example_hosts))
    environment = {
        **{name: value for name, value in s3_servers.child_environment().items() if name != "EBONITE_CONFIG"},
        "EBONITE_DB_PASSWORD": DB_PASSWORD,  # what the README's config file refers to
        "PGPASSWORD": DB_PASSWORD,  # the password of a URL without one, as the README says
    }
    result = subprocess.run(
        [sys.executable, "readme.py"], cwd=tmp_path, env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "copy.toml").is_file() and (tmp_path / ".ebonite" / "metadata.json").is_file()


def test_toml_blocks_parse() -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    for body in blocks("toml"):
        assert tomllib.loads(body), body


def _commands() -> list[tuple[str, list[str]]]:
    """Every ``$`` command of the console blocks with the output lines shown under it."""
    found: list[tuple[str, list[str]]] = []
    for body in blocks("console"):
        for line in body.splitlines():
            if line.startswith("$ "):
                found.append((line[2:].split("  #")[0].strip(), []))
            else:
                found[-1][1].append(line)
    return found


def _normalized(line: str) -> str:
    line = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "DATE", line)
    line = re.sub(r"\d+(\.\d+)? (B|KiB|MiB|GiB)\b", "SIZE", line)
    return " ".join(line.split())


def _shows(actual: str, shown: list[str]) -> bool:
    """Whether ``actual`` prints what the README shows: every line, or with ``...`` the shown ones in order."""
    lines = [_normalized(line) for line in actual.splitlines()]
    wanted = [_normalized(line) for line in shown if line.strip() != "..."]
    if "..." not in [line.strip() for line in shown]:
        return lines == wanted
    remaining = iter(lines)
    return all(any(line == want for line in remaining) for want in wanted)


@pytest.fixture
def shown_registry(tmp_path: Path) -> Path:
    """A directory whose ``.ebonite`` holds what the README's ``ebonite`` commands show."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    data = pd.DataFrame({"height": [1.62, 1.75, 1.80, 1.68], "weight": [55.0, 90.0, 72.0, 95.0]})
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    task = ebnt.get_or_create_task("my_project", "bmi")
    task.create_and_push_model(LogisticRegression().fit(data, [0, 1, 0, 1]), data, "logreg")
    task.create_and_push_model(LogisticRegression(C=0.1).fit(data, [0, 1, 0, 1]), data, "logreg-c01")
    ebnt.get_or_create_task("my_project", "churn")
    return tmp_path


def _check_pip_install(command: str) -> None:
    projects = {pyproject(path)["project"]["name"]: path for path in [ROOT, *ROOT.glob("plugins/*")]}
    for spec in shlex.split(command)[2:]:
        target, _, extras = spec.partition("[")
        directory = (ROOT / target).resolve() if target.startswith(".") else projects.get(target)
        assert directory is not None and (directory / "pyproject.toml").is_file(), f"{spec}: no such distribution"
        declared = pyproject(directory)["project"].get("optional-dependencies", {})
        for extra in filter(None, extras.rstrip("]").split(",")):
            assert extra in declared, f"{spec}: no extra {extra!r}"


def test_console_commands_work(shown_registry: Path) -> None:
    commands = _commands()
    assert any(command.startswith("ebonite ") for command, _ in commands)
    makefile = (ROOT / "Makefile").read_text()
    ebonite = str(Path(sys.executable).parent / "ebonite")
    for command, shown in commands:
        if command.startswith("make "):
            assert re.search(rf"^{re.escape(command.split()[1])}:", makefile, re.M), command
        elif command.startswith("pip install "):
            _check_pip_install(command)
        elif command.startswith("ebonite "):
            result = subprocess.run(
                [ebonite, *shlex.split(command)[1:]], cwd=shown_registry, capture_output=True, text=True
            )
            assert result.returncode == 0, result.stderr
            assert _shows(result.stdout, shown), f"$ {command}\n{result.stdout}"
        else:
            raise AssertionError(f"the README shows a command this test does not check: {command}")


def test_text_blocks_are_what_ebonite_prints() -> None:
    produced = {}
    with pytest.raises(Exception) as raised:
        PluginRegistry(entry_points=lambda: []).resolve("artifact", "s3")  # no plugin installed
    produced["UnknownBackendError"] = f"{type(raised.value).__name__}: {raised.value}"
    for body in blocks("text"):
        kind = body.split(":", 1)[0]
        assert kind in produced, f"the README shows a message this test does not produce: {body[:80]}"
        assert " ".join(body.split()) == produced[kind]
