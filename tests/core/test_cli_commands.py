"""The ebonite_commands hook: commands found like backends, built-ins protected, broken commands contained."""

from __future__ import annotations

import argparse
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from ebonite_core import EboniteError
from ebonite_core.cli import Command, UsageError, build_parser
from ebonite_core.plugins import PluginRegistry

CLAIMS_LS = """
from ebonite_core import hookimpl
from ebonite_core.cli import Command

class ImpostorLs(Command):
    name = "ls"
    def run(self, args):
        return 0

class Extra(Command):
    name = "extra"
    help = "an extra command"
    def run(self, args):
        return 0

@hookimpl
def ebonite_commands():
    return [ImpostorLs, Extra]
"""


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginRegistry:
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "claims_ls_plugin.py").write_text(textwrap.dedent(CLAIMS_LS))
    entry_point = EntryPoint(name="claims", value="claims_ls_plugin", group="ebonite")
    return PluginRegistry(entry_points=lambda: [entry_point], disabled=())


def test_a_plugin_cannot_replace_a_builtin_command_but_adds_its_own(registry: PluginRegistry) -> None:
    commands = registry.commands()
    assert commands["ls"].__module__ == "ebonite_core.cli.browse"
    assert commands["extra"].__name__ == "Extra"
    assert {"copy", "gc", "ls", "plugins", "rm", "show", "verify"} <= set(commands)
    [conflict] = registry.conflicts()
    assert "The ebonite command name 'ls' is claimed by" in str(conflict) and "ImpostorLs" in str(conflict)


def test_a_command_whose_parser_fails_is_reported_when_used() -> None:
    class Broken(Command):
        name = "broken"

        def add_arguments(self, parser: argparse.ArgumentParser) -> None:
            raise RuntimeError("cannot build my parser")

        def run(self, args: argparse.Namespace) -> int:
            return 0

    class Fine(Command):
        name = "fine"

        def run(self, args: argparse.Namespace) -> int:
            return 7

    parser = build_parser({"broken": Broken, "fine": Fine})
    fine = parser.parse_args(["fine"])
    assert fine.command_object.run(fine) == 7, "the other commands still work"
    broken = parser.parse_args(["broken"])
    with pytest.raises(EboniteError, match=r"The command 'broken'.*is broken: RuntimeError: cannot build my parser"):
        broken.command_object.run(broken)


def test_global_options_work_before_and_after_the_command() -> None:
    class Echo(Command):
        name = "echo"

        def run(self, args: argparse.Namespace) -> int:
            return 0

    parser = build_parser({"echo": Echo})
    assert parser.parse_args(["--config", "a.toml", "echo"]).config == "a.toml"
    assert parser.parse_args(["echo", "--config", "b.toml"]).config == "b.toml"
    assert parser.parse_args(["echo"]).config is None and parser.parse_args(["--debug", "echo"]).debug is True


def test_a_command_can_read_the_config_without_opening_the_registry(tmp_path: Path, monkeypatch) -> None:
    class Inspect(Command):
        name = "inspect"

        def run(self, args: argparse.Namespace) -> int:
            return 0

    config = tmp_path / "c.toml"
    config.write_text('[metadata]\ntype = "local"\npath = "m.json"\n[artifact]\ntype = "dummy"\nlabel = "x"\n')
    monkeypatch.delenv("EBONITE_CONFIG", raising=False)
    parser = build_parser({"inspect": Inspect})
    args = parser.parse_args(["inspect", "--config", str(config)])
    parsed = args.command_object.config(args)
    assert (parsed.metadata.type, parsed.metadata.options) == ("local", {"path": str(tmp_path / "m.json")})
    assert not (tmp_path / "m.json").exists()
    with pytest.raises(UsageError, match="ebonite inspect needs a config file"):
        args.command_object.config(parser.parse_args(["inspect"]))
    monkeypatch.setenv("EBONITE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(UsageError, match="does not exist"):
        args.command_object.config(parser.parse_args(["inspect"]))


# A command line for each command that needs arguments to parse (the others parse bare).
REQUIRED_ARGUMENTS = {
    "show": ["p/t/m"],
    "rm": ["p"],
    "copy": ["--to", "elsewhere"],
    "db": ["current"],
    "token": ["list"],
}


def test_every_command_with_json_output_takes_json_before_or_after_its_name() -> None:
    """``ebonite --json ls`` is ``ebonite ls --json``; a command without JSON output refuses it, clearly."""
    from ebonite_core.cli.main import _merge_json
    from ebonite_core.plugins import get_registry

    parser = build_parser()
    with_json = []
    for name in get_registry().commands():
        arguments = [name, *REQUIRED_ARGUMENTS.get(name, [])]
        before = parser.parse_args(["--json", *arguments])
        try:
            after = parser.parse_args([*arguments, "--json"])
        except SystemExit:  # no --json after the name: none before either
            with pytest.raises(UsageError, match=f"ebonite {name} has no --json output"):
                _merge_json(before)
            continue
        with_json.append(name)
        _merge_json(before)
        assert before.json is after.json is True, name
        assert parser.parse_args(arguments).json is False, name
    assert {"ls", "show", "rm", "verify", "gc", "copy", "plugins"} <= set(with_json)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from ebonite_core import __version__

    with pytest.raises(SystemExit) as raised:
        build_parser({}).parse_args(["--version"])
    assert raised.value.code == 0 and capsys.readouterr().out == f"ebonite-core {__version__}\n"
