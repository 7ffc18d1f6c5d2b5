"""How `ebonite` finds its registry (--config, EBONITE_CONFIG, .ebonite), plugin commands, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import Cli, assert_one_line_error

from ebonite_core import Ebonite
from ebonite_core.testing import ScaleModel


def elsewhere(tmp_path: Path, projects: list[str]) -> Path:
    """A registry in another directory, described by a TOML config file with relative paths."""
    store = tmp_path / "elsewhere"
    ebnt = Ebonite.local(store / "store")
    for project in projects:
        ebnt.create_model(ScaleModel(), [1.0], "m", project_name=project, task_name="t")
    config = store / "ebonite.toml"
    ebnt.save_config(config)
    assert "elsewhere" not in config.read_text(), "written relative to the file"
    return config


def test_the_registry_comes_from_config_then_ebonite_config_then_dot_ebonite(
    cli: Cli, registry: Ebonite, tmp_path: Path
) -> None:
    config = elsewhere(tmp_path, ["from-config"])
    other = elsewhere(tmp_path / "second", ["from-env"])

    def projects(*args: str, **env: str) -> list[str]:
        return [project["name"] for project in cli.json("ls", *args, **env)["projects"]]

    assert projects() == ["demo", "other"], ".ebonite in the working directory"
    assert projects(EBONITE_CONFIG=str(other)) == ["from-env"]
    assert projects("--config", str(config), EBONITE_CONFIG=str(other)) == ["from-config"], "--config wins"
    result = cli("--config", config, "ls", "--json")
    assert json.loads(result.stdout)["projects"][0]["name"] == "from-config", "before the command too"


def test_plugin_commands_run_with_the_configured_registry(cli: Cli, registry: Ebonite, tmp_path: Path) -> None:
    result = cli("dummy")
    assert (result.returncode, result.stdout) == (0, "hello: 2 projects\n")
    config = elsewhere(tmp_path, ["a", "b", "c"])
    assert cli("dummy", "--greeting", "hi", "--config", config).stdout == "hi: 3 projects\n"
    assert_one_line_error(cli("dummy", "--greeting", ""), 2, "--greeting must not be empty")
    assert "dummy" in cli("--help").stdout


def test_a_missing_config_file_is_a_usage_error(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(cli("ls", "--config", "missing.toml"), 2, "missing.toml does not exist", "--config")
    assert_one_line_error(cli("ls", EBONITE_CONFIG="missing.json"), 2, "EBONITE_CONFIG")


def test_an_unknown_backend_type_names_the_installed_ones(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "nosuch.toml"
    config.write_text('[metadata]\ntype = "local"\n\n[artifact]\ntype = "nosuch"\n')
    assert_one_line_error(
        cli("ls", "--config", config), 2, "Unknown artifact repository type 'nosuch'", "Installed artifact"
    )


def test_a_first_party_type_that_is_not_available_says_what_to_do(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "s3.toml"
    config.write_text('[metadata]\ntype = "local"\n\n[artifact]\ntype = "s3"\nbucket_name = "models"\n')
    result = cli("ls", "--config", config, EBONITE_DISABLE_PLUGINS="s3")
    assert_one_line_error(result, 2, "Unknown artifact repository type 's3'", "EBONITE_DISABLE_PLUGINS")


def test_config_problems_are_usage_errors(cli: Cli, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[metadata]\ntype = "local"\npath = "${EBONITE_TEST_UNSET_VARIABLE}"\n[artifact]\ntype = "local"\n'
    )
    assert_one_line_error(cli("ls", "--config", config), 2, "EBONITE_TEST_UNSET_VARIABLE, which is not set")
    config.write_text('[metadata]\ntype = "local"\ncolour = "red"\n[artifact]\ntype = "local"\n')
    assert_one_line_error(cli("ls", "--config", config), 2, "does not take the option 'colour'")
    config.write_text("[metadata\n")
    assert_one_line_error(cli("ls", "--config", config), 2, "is not valid TOML")


def test_no_registry_in_the_working_directory(cli: Cli) -> None:
    assert_one_line_error(cli("ls"), 2, "No registry here", "--config FILE", "EBONITE_CONFIG")
    assert_one_line_error(cli("verify"), 2, "No registry here")


def test_unknown_paths_are_failures(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(cli("ls", "nope"), 1, "Project 'nope' does not exist", "ebonite ls")
    assert_one_line_error(cli("verify", "demo/nope"), 1, "Task 'nope' does not exist in project 'demo'")
    assert_one_line_error(cli("show", "demo/iris/nope"), 1, "Model 'nope' does not exist in demo/iris")


def test_malformed_paths_and_commands_are_usage_errors(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(
        cli("ls", "a/b/c/d"), 2, "a path is PROJECT, PROJECT/TASK, PROJECT/TASK/MODEL or PROJECT/TASK@ALIAS"
    )
    assert_one_line_error(cli("ls", "a//b"), 2, "Invalid task name ''")
    result = cli("frobnicate")
    assert result.returncode == 2 and "invalid choice: 'frobnicate'" in result.stderr


def test_debug_shows_the_traceback(cli: Cli, registry: Ebonite) -> None:
    registry.meta_repo.path.write_text("[]")
    assert_one_line_error(cli("ls"), 1, "has no schema_version")
    result = cli("ls", "--debug")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr and "MetadataCorruptError" in result.stderr


def test_show_prints_tags_and_aliases(cli: Cli, registry: Ebonite) -> None:
    model = registry.get_model("scale", "iris", "demo")
    registry.set_model_tags(model, {"stage": "production", "dataset": "2026-11"})
    registry.set_alias(registry.get_task("demo", "iris"), "champion", model)
    text = cli("show", "demo/iris/scale").stdout
    assert "aliases:      champion" in text and "tags:         dataset=2026-11, stage=production" in text
    document = cli.json("show", "demo/iris/scale")
    assert document["aliases"] == ["champion"] and document["tags"] == {"stage": "production", "dataset": "2026-11"}
