"""`ebonite ls`, `show` and `rm` on a real local registry, run as the installed console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import Cli, artifact_dir, assert_one_line_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebonite_core import Ebonite
from ebonite_core.cli.main import main


def test_ls_lists_projects_and_tasks_with_counts_and_sizes(cli: Cli, registry: Ebonite) -> None:
    result = cli("ls")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["PATH", "TASKS", "MODELS", "SIZE", "CREATED", "(UTC)"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(rows) == ["demo", "demo/iris", "demo/wine", "other", "other/t"]
    assert rows["demo"][1:3] == ["2", "2"] and rows["demo/iris"][1] == "2" and rows["demo/wine"][1:3] == ["0", "0"]
    total = sum(model.artifacts[0].size for model in registry.get_models("iris", "demo"))
    assert rows["demo/iris"][2:4] == [f"{total / 1024:.1f}", "KiB"], "the sizes of the manifests add up"
    created = registry.get_project("demo").creation_date
    assert f"{created:%Y-%m-%d %H:%M:%S}" in " ".join(rows["demo"])


def test_ls_json_is_the_tree_with_exact_numbers(cli: Cli, registry: Ebonite) -> None:
    document = cli.json("ls")
    demo = document["projects"][0]
    assert (demo["name"], demo["task_count"], demo["model_count"]) == ("demo", 2, 2)
    iris = demo["tasks"][0]
    sizes = {model.name: sum(a.size for a in model.artifacts) for model in registry.get_models("iris", "demo")}
    assert {m["name"]: m["size"] for m in iris["models"]} == sizes
    assert iris["size"] == sum(sizes.values()) == demo["size"]
    assert iris["models"][0]["methods"] == ["predict"] and iris["models"][0]["path"] == "demo/iris/scale"


def test_json_before_the_command_is_the_same_output(cli: Cli, registry: Ebonite) -> None:
    before, after = cli("--json", "ls", "demo"), cli("ls", "demo", "--json")
    assert before.returncode == 0 and before.stdout == after.stdout and json.loads(before.stdout)["projects"]


def test_ls_of_a_task_lists_its_models(cli: Cli, registry: Ebonite) -> None:
    result = cli("ls", "demo/iris")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["PATH", "FILES", "SIZE"]
    assert [line.split()[0] for line in lines[1:]] == ["demo/iris/scale", "demo/iris/triple"]
    assert lines[1].rstrip().endswith("predict")
    assert cli.json("ls", "demo")["projects"][0]["tasks"][1]["name"] == "wine"
    assert [p["name"] for p in cli.json("ls", "other/t/small")["projects"]] == ["other"]


def test_ls_of_an_empty_registry_says_so(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / ".ebonite").mkdir()
    result = cli("ls")
    assert result.returncode == 0 and result.stdout.startswith("No projects yet")
    assert cli.json("ls") == {"projects": []}


def test_show_prints_everything_recorded_about_a_model(cli: Cli, registry: Ebonite) -> None:
    model = registry.get_model("scale", "iris", "demo")
    result = cli("show", "demo/iris/scale")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "model:        demo/iris/scale" in text and "description:  doubles" in text
    assert "predict(list[float]) -> list[float]" in text
    assert f"ebonite-core  {model.requirements['ebonite-core']}" in text
    artifact = model.artifacts[0]
    assert f"{artifact.name}  {artifact.size} B  {artifact.sha256}" in text
    assert "factor = 2.0" in text and model.artifact_key in text


def test_show_json_is_the_recorded_metadata(cli: Cli, registry: Ebonite) -> None:
    model = registry.get_model("triple", "iris", "demo")
    document = cli.json("show", "demo/iris/triple")
    assert document["path"] == "demo/iris/triple" and document["size"] == model.artifacts[0].size
    assert {key: document[key] for key in model.to_dict()} == json.loads(json.dumps(model.to_dict()))


def test_show_needs_a_model_path(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(cli("show", "demo/iris"), 2, "PROJECT/TASK/MODEL", "ebonite ls demo/iris")
    assert_one_line_error(cli("show", "demo/iris/nope"), 1, "Model 'nope' does not exist in demo/iris")


def test_rm_asks_and_a_no_deletes_nothing(cli: Cli, registry: Ebonite) -> None:
    key_dir = artifact_dir(registry, "demo/iris/scale")
    size = registry.get_model("scale", "iris", "demo").artifacts[0].size
    for answer in ("n\n", "", "yes please\n"):  # no, end of input, anything but y/yes
        result = cli("rm", "demo/iris/scale", input=answer)
        assert result.returncode == 1 and f"Delete model demo/iris/scale ({size} B)? [y/N]" in result.stderr
        assert "Nothing deleted." in result.stderr and result.stdout == ""
        assert registry.get_model("scale", "iris", "demo") is not None and key_dir.is_dir()


def test_rm_deletes_on_yes_with_its_artifacts(cli: Cli, registry: Ebonite) -> None:
    key_dir = artifact_dir(registry, "demo/iris/scale")
    result = cli("rm", "demo/iris/scale", input="Y\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Deleted model demo/iris/scale.\n"
    assert registry.get_model("scale", "iris", "demo") is None and not key_dir.exists()


def test_rm_yes_does_not_ask(cli: Cli, registry: Ebonite) -> None:
    result = cli("rm", "demo/iris/triple", "--yes")
    assert result.returncode == 0 and result.stderr == ""
    assert [m.name for m in registry.get_models("iris", "demo")] == ["scale"]


def test_rm_of_a_task_with_models_needs_cascade(cli: Cli, registry: Ebonite) -> None:
    keys = [artifact_dir(registry, f"demo/iris/{name}") for name in ("scale", "triple")]
    assert_one_line_error(cli("rm", "demo/iris", "--yes"), 1, "has 2 models", "--cascade")
    assert registry.get_task("demo", "iris") is not None
    total = sum(model.artifacts[0].size for model in registry.get_models("iris", "demo"))
    result = cli("rm", "demo/iris", "--cascade", input="y\n")
    assert f"Delete task demo/iris with 2 models ({total / 1024:.1f} KiB)? [y/N]" in result.stderr
    assert result.returncode == 0 and registry.get_task("demo", "iris") is None
    assert not any(key.exists() for key in keys)
    assert cli("rm", "demo/wine", "--yes").returncode == 0, "an empty task needs no cascade"


def test_rm_of_a_project(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(cli("rm", "demo", "--yes"), 1, "has 2 tasks", "--cascade")
    document = cli.json("rm", "demo", "--cascade", "--yes")
    assert document == {
        "deleted": {
            "projects": ["demo"],
            "tasks": ["demo/iris", "demo/wine"],
            "models": ["demo/iris/scale", "demo/iris/triple"],
        }
    }
    assert [p.name for p in registry.get_projects()] == ["other"]
    assert cli("verify").returncode == 0, "nothing left behind"


def test_rm_of_an_unknown_path(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(cli("rm", "nope", "--yes"), 1, "Project 'nope' does not exist", "ebonite ls")
    assert_one_line_error(cli("rm", "demo/nope", "--yes"), 1, "Task 'nope' does not exist in project 'demo'")


def test_an_alias_path_names_the_model_it_points_at(cli: Cli, registry: Ebonite) -> None:
    task = registry.get_task("demo", "iris")
    registry.set_alias(task, "champion", registry.get_model("triple", task))
    document = cli.json("show", "demo/iris@champion")
    assert document["path"] == "demo/iris/triple"
    assert_one_line_error(cli("show", "demo/iris@nobody"), 1, "Alias 'nobody' is not set on demo/iris")
    assert cli("verify", "demo/iris@champion").returncode == 0
    assert cli("rm", "demo/iris@champion", "--yes").returncode == 0
    assert registry.get_model("triple", task) is None and registry.get_model("scale", task) is not None


def test_alias_paths_parse_and_a_trailing_slash_keeps_an_at_sign_in_a_task_name() -> None:
    from ebonite_core.maintenance.walk import RegistryPath

    assert RegistryPath.parse("p/t@champion") == RegistryPath("p", "t", alias="champion")
    assert str(RegistryPath.parse("p/t@champion")) == "p/t@champion"
    assert RegistryPath.parse("p/t@x/") == RegistryPath("p", "t@x")
    assert RegistryPath.parse("p/t/model@v2") == RegistryPath("p", "t", "model@v2")


def test_rm_of_the_whole_registry_is_a_usage_error(cli: Cli, registry: Ebonite) -> None:
    for path in ("", "/"):
        assert_one_line_error(cli("rm", path, "--yes"), 2, "rm needs what to delete")
    assert len(registry.get_projects()) == 2


ARGUMENTS = ["", "/", "//", "\x00", "a\x00b", "\ud800", "../x", "p/t/m/x", "demo/iris@", "@", "1e400d", "-1s"]
ARGUMENTS += ["1000000d", "x" * 5000, "\n", "demo/\ud800", "demo/iris@a/b", "demo/iris/scale@v"]


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    command=st.sampled_from([["ls"], ["show"], ["rm", "--yes"], ["verify"], ["gc", "--dry-run", "--older-than"]]),
    argument=st.one_of(st.sampled_from(ARGUMENTS), st.text(max_size=12)),
)
def test_no_argument_makes_a_command_fail_unexpectedly(
    registry: Ebonite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command, argument
) -> None:
    """Whatever the argument, a command succeeds, fails (1) or refuses it (2), never with an unexpected error."""
    monkeypatch.chdir(registry.meta_repo.path.parent.parent)
    try:
        status = main([*command, argument])
    except SystemExit as exit:  # argparse refusing the command line
        status = exit.code
    error = capsys.readouterr().err
    assert status in (0, 1, 2) and "unexpected" not in error, (command, argument, status, error)


class Columns:
    """Returns the frame it is given: its signature records the frame's column names."""

    def predict(self, frame):
        return frame


HOSTILE = {
    "clear screen": "\x1b[2J\x1b[H",
    "window title": "\x1b]0;owned\x07",
    "C1 CSI": "\x9b31m",
    "bidi override": "\u202eexe.txt",
    "line separator": "one\u2028two",
    "newline": "done.\nChecked 0 models: no problems",
    "delete": "x\x7fy",
}


@pytest.mark.filterwarnings("ignore::ebonite_core.model.requirements.RequirementsWarning")  # Columns: this module
def test_show_and_ls_print_what_a_store_holds_with_every_control_character_neutralised(
    cli: Cli, registry: Ebonite
) -> None:
    """Descriptions, param keys, tags, DataFrame column names: text anyone with write access to a store chose.
    No escape reaches the terminal; each shows as its escape (\\x1b...), and one value stays one line. The JSON
    output stays valid and gives the very same strings back."""
    import pandas as pd

    text = "".join(HOSTILE.values())
    frame = pd.DataFrame({f"col{text}": [1.0]})
    task = registry.get_or_create_task("demo", "iris")
    task.create_and_push_model(
        Columns(), frame, "hostile", description=text, params={f"key{text}": text}, tags={"stage": "\u202eexe.txt"}
    )  # tags refuse control characters, not the invisible format ones
    for command in (["show", "demo/iris/hostile"], ["ls", "demo/iris"], ["ls"]):
        shown = cli(*command)
        assert shown.returncode == 0, shown.stderr
        for name, sequence in HOSTILE.items():
            raw = sequence if name != "newline" else "\nChecked"
            assert raw not in shown.stdout, (command, name)
        assert all(ord(char) >= 0x20 or char == "\n" for char in shown.stdout)
        assert not any(0x7F <= ord(char) <= 0x9F or char in "\u202e\u2028" for char in shown.stdout)
    shown = cli("show", "demo/iris/hostile").stdout
    assert "\\x1b[2J\\x1b[H" in shown and "\\u202eexe.txt" in shown and "\\x9b31m" in shown
    document = cli.json("show", "demo/iris/hostile")
    assert document["description"] == text and document["tags"] == {"stage": "\u202eexe.txt"}
    assert document["params"] == {f"key{text}": text}
    raw_json = cli("show", "--json", "demo/iris/hostile").stdout
    assert not any(0x7F <= ord(char) <= 0x9F or char in "\u202e\u2028" for char in raw_json)


def test_an_error_quoting_a_store_is_printed_on_one_safe_line(cli: Cli, registry: Ebonite) -> None:
    """Names refuse control characters but may hold invisible format ones: a task called "a\u202eb" makes an
    error that quotes its path, printed on one line with the override shown as its escape."""
    registry.get_or_create_task("demo", "a\u202eb")
    result = cli("show", "demo/a\u202eb/missing")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "\u202e" not in result.stderr and "demo/a\\u202eb" in result.stderr, result.stderr
