"""`ebonite copy`: into another real registry, idempotent, resumable after a crash, checked on arrival."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
from collections.abc import Mapping
from pathlib import Path

from cli_support import EBONITE, Cli, artifact_dir, assert_one_line_error

from ebonite_core import Ebonite, LocalArtifactRepository, LocalMetadataRepository, Model, RepositoryError
from ebonite_core.maintenance import CopyOutcome, copy_models
from ebonite_core.testing import ScaleModel


def local_config(path: Path, store: str, artifact_type: str = "local", **artifact_options: object) -> Path:
    document = {
        "metadata": {"type": "local", "path": f"{store}/metadata.json"},
        "artifact": {"type": artifact_type, "path": f"{store}/artifacts", **artifact_options},
    }
    path.write_text(json.dumps(document))
    return path


def snapshot(ebnt: Ebonite) -> dict[str, dict]:
    """Every model's metadata by path, without what differs between registries (ids, and the artifact key: a
    copy stores each model under a fresh one)."""
    result = {}
    for project in ebnt.get_projects():
        for task in ebnt.get_tasks(project):
            for model in ebnt.get_models(task):
                data = model.to_dict()
                del data["id"], data["task_id"], data["artifact_key"]
                result[f"{project.name}/{task.name}/{model.name}"] = data
    return result


def test_copy_everything_then_again_changes_nothing(cli: Cli, registry: Ebonite, tmp_path: Path) -> None:
    registry.set_alias(registry.get_task("demo", "iris"), "champion", registry.get_model("triple", "iris", "demo"))
    config = local_config(tmp_path / "target.json", "target")
    result = cli("copy", "--to", config)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:3]] == [
        ["copied", "demo/iris/scale"],
        ["copied", "demo/iris/triple"],
        ["copied", "other/t/small"],
    ]
    assert lines[3] == "3 models: 3 copied, 0 already there, 0 in conflict, 0 failed."

    target = Ebonite.from_config(config)
    assert snapshot(target) == snapshot(registry), "all metadata kept, dates included"
    assert [t.name for t in target.get_tasks("demo")] == ["iris", "wine"], "empty tasks are copied too"
    assert target.get_project("demo").creation_date == registry.get_project("demo").creation_date
    assert target.get_model("triple", "iris", "demo").predict([1.0]) == [3.0]
    assert target.get_model_by_alias(target.get_task("demo", "iris"), "champion").name == "triple"
    assert cli("verify", "--config", config).returncode == 0

    keys = sorted(target.artifact_repo.keys())
    again = cli("copy", "--to", config)
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == (
        "3 models: 0 copied, 3 already there, 0 in conflict, 0 failed."
    )
    assert sorted(target.artifact_repo.keys()) == keys and snapshot(target) == snapshot(registry)


def test_copy_of_a_path_copies_only_what_it_names(cli: Cli, registry: Ebonite, tmp_path: Path) -> None:
    config = local_config(tmp_path / "target.json", "target")
    assert cli("copy", "--to", config, "demo/iris/triple").returncode == 0
    target = Ebonite.from_config(config)
    assert list(snapshot(target)) == ["demo/iris/triple"] and [p.name for p in target.get_projects()] == ["demo"]
    document = cli.json("copy", "--to", config, "demo")
    assert [(m["path"], m["status"]) for m in document["models"]] == [
        ("demo/iris/scale", "copied"),
        ("demo/iris/triple", "present"),
    ]
    assert [t.name for t in target.get_tasks("demo")] == ["iris", "wine"]


def many_models(tmp_path: Path, count: int) -> Ebonite:
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    task = ebnt.get_or_create_task("big", "experiments")
    for index in range(count):
        task.create_and_push_model(ScaleModel(float(index), os.urandom(2000)), [1.0], f"model-{index}")
    return ebnt


def test_a_copy_killed_half_way_finishes_when_run_again(cli: Cli, tmp_path: Path) -> None:
    source = many_models(tmp_path, 6)
    # The target's process is killed (SIGKILL: no clean-up at all) right after storing the third model's
    # files and before writing its metadata: the worst moment. (Its first push is copy's probe of whether the
    # target shares the source's artifact store.)
    crashing = local_config(tmp_path / "crashing.json", "target", "crashing", crash_after=3, mode="kill")
    result = cli("copy", "--to", crashing)
    assert result.returncode == -9, (result.returncode, result.stderr)
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["copied", "copied"]

    config = local_config(tmp_path / "target.json", "target")
    target = Ebonite.from_config(config)
    assert len(snapshot(target)) == 2 and len(target.artifact_repo.keys()) == 3
    assert cli("verify", "--config", config).returncode == 1, "the leftover of the killed copy is unreferenced"

    result = cli("copy", "--to", config)
    assert result.returncode == 0, result.stderr
    assert [line.split()[0] for line in result.stdout.splitlines()[:6]] == ["present"] * 2 + ["copied"] * 4
    assert snapshot(target) == snapshot(source), "everything copied, no model twice"
    verified = cli("verify", "--config", config)
    assert verified.returncode == 1 and "Checked 6 models, 6 files" in verified.stdout
    assert "1 unreferenced" in verified.stdout, "the killed copy's files: never reused, never deleted by copy"
    assert len(cli.json("gc", "--older-than", "0", "--config", config)["removed_keys"]) == 1
    models = target.get_models("experiments", "big")
    assert sorted(target.artifact_repo.keys()) == sorted(model.artifact_key for model in models)
    assert cli("verify", "--config", config).returncode == 0
    assert [m.predict([1.0]) for m in target.get_models("experiments", "big")] == [[float(i)] for i in range(6)]


def test_a_target_failing_midway_leaves_nothing_half_done(cli: Cli, tmp_path: Path) -> None:
    source = many_models(tmp_path, 3)
    failing = local_config(tmp_path / "failing.toml.json", "target", "crashing", crash_after=2, mode="raise")
    result = cli("copy", "--to", failing)  # the first push is the probe of a shared store
    assert_one_line_error(result, 1, "gave up after 2 pushes")
    config = local_config(tmp_path / "target.json", "target")
    target = Ebonite.from_config(config)
    assert len(snapshot(target)) == 1 and len(target.artifact_repo.keys()) == 1, "the failed model's files removed"
    assert cli("copy", "--to", config).returncode == 0
    assert snapshot(target) == snapshot(source)
    assert cli("verify", "--config", config).returncode == 0


def test_a_different_model_of_the_same_name_is_a_conflict_left_alone(
    cli: Cli, registry: Ebonite, tmp_path: Path
) -> None:
    config = local_config(tmp_path / "target.json", "target")
    target = Ebonite.from_config(config)
    target.create_model(ScaleModel(10.0), [1.0], "scale", project_name="demo", task_name="iris")
    result = cli("copy", "--to", config)
    assert result.returncode == 1
    assert "conflict demo/iris/scale" in result.stdout and "left as it is" in result.stdout
    assert "2 copied, 0 already there, 1 in conflict, 0 failed." in result.stdout
    assert target.get_model("scale", "iris", "demo").predict([1.0]) == [10.0]


def test_a_damaged_source_file_is_reported_and_the_rest_copied(cli: Cli, registry: Ebonite, tmp_path: Path) -> None:
    damaged = artifact_dir(registry, "demo/iris/triple") / "model.pkl"
    data = bytearray(damaged.read_bytes())
    data[-20] ^= 0xFF
    damaged.write_bytes(bytes(data))
    config = local_config(tmp_path / "target.json", "target")
    document = json.loads(cli("copy", "--to", config, "--json").stdout)
    assert {m["path"]: m["status"] for m in document["models"]} == {
        "demo/iris/scale": "copied",
        "demo/iris/triple": "failed",
        "other/t/small": "copied",
    }
    assert "sha256" in next(m["detail"] for m in document["models"] if m["status"] == "failed")
    assert cli("copy", "--to", config).returncode == 1
    assert sorted(snapshot(Ebonite.from_config(config))) == ["demo/iris/scale", "other/t/small"]


def test_copy_into_a_local_store_directory(cli: Cli, registry: Ebonite, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    assert cli("copy", "--to", "elsewhere").returncode == 0
    assert snapshot(Ebonite.local(tmp_path / "elsewhere")) == snapshot(registry)


def test_copy_to_a_missing_config_is_a_usage_error(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(cli("copy", "--to", "nope.toml"), 2, "nope.toml does not exist")
    result = cli("copy")
    assert result.returncode == 2 and "the following arguments are required: --to" in result.stderr


def test_copy_shows_a_progress_bar_on_a_terminal(registry: Ebonite, tmp_path: Path) -> None:
    config = local_config(tmp_path / "target.json", "target")
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 wide
    process = subprocess.Popen(
        [EBONITE, "copy", "--to", str(config)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=terminal, text=True
    )
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal is closed once the process has exited
            break
        if not chunk:
            break
        shown += chunk
    stdout, _ = process.communicate()
    os.close(controller)
    assert process.returncode == 0
    assert b"copy 3 models" in shown and b"100%" in shown
    assert "copied" in stdout, "the per-model lines still go to stdout"


def test_a_target_sharing_the_sources_artifact_store_is_refused_and_nothing_is_deleted(
    cli: Cli, registry: Ebonite, tmp_path: Path
) -> None:
    """Moving the metadata elsewhere while keeping the files where they are (the target's [artifact] is the
    source's directory, named directly or through a link): refused before anything is copied, the source
    intact."""
    (tmp_path / "linked").symlink_to(tmp_path / ".ebonite")
    before = {path: path.read_bytes() for path in (tmp_path / ".ebonite" / "artifacts").rglob("*") if path.is_file()}
    for artifacts in (".ebonite/artifacts", "linked/artifacts"):
        config = tmp_path / "moved.json"
        config.write_text(
            json.dumps(
                {
                    "metadata": {"type": "local", "path": "moved/metadata.json"},
                    "artifact": {"type": "local", "path": artifacts},
                }
            )
        )
        assert_one_line_error(cli("copy", "--to", config), 2, "the source's artifact store", "nothing was copied")
        assert Ebonite.from_config(config).get_projects() == []
    after = {path: path.read_bytes() for path in (tmp_path / ".ebonite" / "artifacts").rglob("*") if path.is_file()}
    assert after == before, "the source's files are all there, unchanged"
    assert cli("verify").returncode == 0


def test_copy_never_reuses_a_key_name_nor_deletes_what_it_did_not_create(
    cli: Cli, registry: Ebonite, tmp_path: Path
) -> None:
    """A key the target holds under a source model's key name (what a killed copy of main left, or anyone's) is
    left alone: each model gets a fresh key, so that what gc decided about the old key never hits new files."""
    config = local_config(tmp_path / "target.json", "target")
    target = Ebonite.from_config(config)
    scale = registry.get_model("scale", "iris", "demo")
    source_file = registry.artifact_repo.local_path(scale.artifact_key, "model.pkl")
    target.artifact_repo.push(scale.artifact_key, {"model.pkl": source_file})
    assert cli("copy", "--to", config).returncode == 0
    copied = target.get_model("scale", "iris", "demo")
    keys = [model.artifact_key for model in target.get_models("iris", "demo")]
    assert copied.artifact_key != scale.artifact_key and scale.artifact_key not in keys
    assert scale.artifact_key in target.artifact_repo.keys(), "the key it did not create is still there"
    assert copied.predict([1.0]) == [2.0]


def test_a_model_deleted_from_the_source_while_it_is_copied_is_reported_not_raised(tmp_path: Path) -> None:
    """The copy reads a local source's files in place: a model deleted between that read and the target's push
    (another process's ``ebonite rm``) is a failed model of the source, and the target keeps nothing of it."""
    source = Ebonite.local(str(tmp_path / "source"))
    for name in ("first", "second"):
        source.create_model(ScaleModel(2.0), [1.0], name, project_name="p", task_name="t")

    class DeletingMeanwhile(LocalArtifactRepository):
        """A target whose push of "first" runs just after another process deleted "first" from the source."""

        def push(self, key: str, files: Mapping[str, Path]) -> None:
            doomed = source.get_model("first", "t", "p")
            if doomed is not None and any(doomed.artifact_key in str(path) for path in files.values()):
                source.delete_model(doomed)
            super().push(key, files)

    target = Ebonite(LocalMetadataRepository(tmp_path / "target/metadata.json"), DeletingMeanwhile(tmp_path / "art"))
    outcomes: list[CopyOutcome] = []
    copy_models(source, target, on_outcome=outcomes.append)
    status = {outcome.path: (outcome.status, outcome.detail) for outcome in outcomes}
    assert status["p/t/second"][0] == "copied"
    assert status["p/t/first"][0] == "failed" and "deleted" in status["p/t/first"][1]
    assert [model.name for model in target.get_models("t", "p")] == ["second"]
    assert len(target.artifact_repo.keys()) == 1, "nothing of the vanished model left in the target"


def test_a_target_write_that_took_effect_despite_an_error_keeps_its_files(tmp_path: Path) -> None:
    """A target whose metadata write stores the model and then fails (a database's answer to COMMIT lost with
    the connection): the copy asks the target, finds the model stored, and keeps its files; removing them
    would leave a visible model without files, which the next run would take for already there."""
    source = Ebonite.local(str(tmp_path / "source"))
    source.create_model(ScaleModel(2.0), [1.0], "model", project_name="p", task_name="t")

    class LostAnswer(LocalMetadataRepository):
        def create_model(self, model: Model) -> Model:
            super().create_model(model)
            raise RepositoryError("connection lost while committing")

    target = Ebonite(LostAnswer(tmp_path / "target/metadata.json"), LocalArtifactRepository(tmp_path / "art"))
    outcomes: list[CopyOutcome] = []
    copy_models(source, target, on_outcome=outcomes.append)
    assert [(outcome.path, outcome.status) for outcome in outcomes] == [("p/t/model", "copied")]
    assert target.get_model("model", "t", "p").predict([1.0]) == [2.0]
