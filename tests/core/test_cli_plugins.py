"""`ebonite plugins`, run as the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EBONITE = str(Path(sys.executable).parent / "ebonite")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EBONITE, *args], capture_output=True, text=True, env={**os.environ, **env})


def test_plugins_lists_builtins_and_installed_plugins_as_json() -> None:
    result = run("plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {row["name"]: row for row in json.loads(result.stdout)["plugins"]}
    builtin = plugins["ebonite_core.builtins"]
    assert builtin["builtin"] and builtin["status"] == "ok"
    assert builtin["types"]["metadata"] == ["inmemory", "local"]
    dummy = plugins["dummy"]
    assert (dummy["distribution"], dummy["version"]) == ("ebonite-dummy", "0.0.1")
    assert dummy["types"] == {"artifact": ["dummy"], "command": ["dummy"], "serializer": ["echo"]}
    assert dummy["status"] == "ok"


def test_plugins_table_for_people() -> None:
    result = run("plugins")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "TYPES", "STATUS"]
    assert any(line.startswith("dummy ") and "artifact: dummy" in line and line.endswith("ok") for line in lines)


def test_a_disabled_plugin_is_listed_as_disabled() -> None:
    result = run("plugins", "--json", EBONITE_DISABLE_PLUGINS="dummy")
    dummy = next(row for row in json.loads(result.stdout)["plugins"] if row["name"] == "dummy")
    assert dummy["status"] == "disabled" and dummy["types"] == {}


def test_usage_errors_exit_with_status_2() -> None:
    result = run()
    assert result.returncode == 2 and "COMMAND" in result.stderr
