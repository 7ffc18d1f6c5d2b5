"""`ebonite verify` and `ebonite gc` on a real local registry, run as the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import Cli, artifact_dir, assert_one_line_error

from ebonite_core import Ebonite
from ebonite_core.maintenance.gc import parse_duration
from ebonite_core.repository import KEY_MARKER, key_marker
from ebonite_core.testing import ScaleModel

HOUR = 3600


def age(path: Path, seconds: float) -> Path:
    """Make ``path`` and everything inside it look last written ``seconds`` ago."""
    stamp = time.time() - seconds
    for item in [*path.rglob("*"), path] if path.is_dir() else [path]:
        os.utime(item, (stamp, stamp))
    return path


def orphan(ebnt: Ebonite, key: str, seconds_ago: float) -> Path:
    """An artifact key that no model references, as an interrupted push leaves it."""
    directory = ebnt.artifact_repo.root / key
    directory.mkdir()
    (directory / KEY_MARKER).write_bytes(key_marker(key))  # the marker comes first: a push wrote it
    (directory / "model.pkl").write_bytes(b"half a push")
    return age(directory, seconds_ago)


def test_verify_passes_on_a_sound_registry(cli: Cli, registry: Ebonite) -> None:
    result = cli("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Checked 3 models, 3 files (") and result.stdout.endswith("no problems.\n")


def test_verify_reports_missing_changed_and_unreferenced_files(cli: Cli, registry: Ebonite) -> None:
    (artifact_dir(registry, "demo/iris/scale") / "model.pkl").unlink()
    triple = artifact_dir(registry, "demo/iris/triple") / "model.pkl"
    data = bytearray(triple.read_bytes())
    data[-10] ^= 1  # same size, one bit flipped
    triple.write_bytes(bytes(data))
    small = artifact_dir(registry, "other/t/small") / "model.pkl"
    small.write_bytes(small.read_bytes() + b"!")
    orphan(registry, "0badc0de", seconds_ago=10)

    result = cli("verify")
    assert result.returncode == 1
    rows = [line.split(None, 3) for line in result.stdout.splitlines()[1:4]]
    assert [row[:3] for row in rows] == [
        ["missing", "demo/iris/scale", "model.pkl"],
        ["changed", "demo/iris/triple", "model.pkl"],
        ["changed", "other/t/small", "model.pkl"],
    ]
    assert "sha256" in rows[1][3] and "bytes, the manifest records" in rows[2][3]
    assert "unreferenced  key 0badc0de" in result.stdout
    assert "3 models, 3 files" in result.stdout and "1 missing, 2 changed, 1 unreferenced." in result.stdout

    problems = cli("verify", "--json")
    assert problems.returncode == 1
    kinds = [(p["kind"], p["path"], p["key"]) for p in json.loads(problems.stdout)["problems"]]
    assert ("unreferenced", None, "0badc0de") in kinds and len(kinds) == 4


def test_verify_reports_a_file_that_no_manifest_lists(cli: Cli, registry: Ebonite) -> None:
    (artifact_dir(registry, "demo/iris/scale") / "stray.bin").write_bytes(b"?")
    result = cli("verify", "demo/iris/scale")
    assert result.returncode == 1
    assert result.stdout.splitlines()[1].split()[:3] == ["unreferenced", "demo/iris/scale", "stray.bin"]
    assert "not in its manifest" in result.stdout


def test_verify_of_a_path_checks_only_its_models(cli: Cli, registry: Ebonite) -> None:
    (artifact_dir(registry, "other/t/small") / "model.pkl").unlink()
    orphan(registry, "0badc0de", seconds_ago=10)
    result = cli("verify", "demo")
    assert result.returncode == 0 and "Checked 2 models" in result.stdout, "unreferenced keys are registry-wide"
    result = cli("verify", "other/t/small")
    assert result.returncode == 1 and "missing  other/t/small" in result.stdout
    assert "Checked 1 model, 1 file (" in result.stdout, "singular for one"


def test_gc_removes_old_unreferenced_keys_and_keeps_recent_ones(cli: Cli, registry: Ebonite) -> None:
    old = orphan(registry, "01d", seconds_ago=25 * HOUR)
    recent = orphan(registry, "2ecent", seconds_ago=1 * HOUR)
    for name in ("scale", "triple"):  # referenced keys are never collected, however old
        age(artifact_dir(registry, f"demo/iris/{name}"), 1000 * HOUR)

    result = cli("gc", "--dry-run")
    assert result.returncode == 0 and "Would remove unreferenced key 01d" in result.stdout
    assert "Kept 1 unreferenced key written in the last 24h" in result.stdout, "singular for one"
    assert "Would remove 1 unreferenced key and 0 leftovers." in result.stdout
    assert old.exists() and recent.exists()

    result = cli("gc")
    assert result.returncode == 0 and "Removed unreferenced key 01d" in result.stdout
    assert not old.exists() and recent.exists(), "the default grace period (24 h) keeps a push in progress"

    document = cli.json("gc", "--older-than", "30m")
    assert [entry["key"] for entry in document["removed_keys"]] == ["2ecent"] and not recent.exists()
    assert cli.json("gc", "--older-than", "0")["removed_keys"] == []
    assert cli("verify").returncode == 0, "every model still complete"


def test_gc_cleans_old_leftovers_of_interrupted_pushes_and_deletes(cli: Cli, registry: Ebonite) -> None:
    root = registry.artifact_repo.root
    stale, fresh = [], []
    for private in (".tmp", ".staging", ".trash"):
        (root / private).mkdir(exist_ok=True)
        for name, hours in (("stale", 48), ("fresh", 0.1)):
            entry = root / private / f"{name}.{private[1:]}"
            entry.mkdir()
            (entry / "model.pkl").write_bytes(b"x")
            age(entry, hours * HOUR)
            (stale if name == "stale" else fresh).append(entry)
    # A directory of an old push whose file is still being written: its newest write counts.
    growing = root / ".tmp" / "growing"
    growing.mkdir()
    (growing / "model.pkl").write_bytes(b"x")
    age(growing, 48 * HOUR)
    os.utime(growing / "model.pkl")
    metadata_tmp = registry.meta_repo.path.with_name(".metadata.json.0123.tmp")
    metadata_tmp.write_text("{")
    age(metadata_tmp, 48 * HOUR)

    document = cli.json("gc", "--dry-run")
    assert sorted(document["leftovers"]) == sorted(
        [f"artifact repository: {p.relative_to(root).as_posix()}" for p in stale]
        + ["metadata repository: .metadata.json.0123.tmp"]
    )
    assert all(p.exists() for p in stale)
    result = cli("gc")
    assert result.returncode == 0 and "Removed 0 unreferenced keys and 4 leftovers." in result.stdout
    assert not any(p.exists() for p in stale) and not metadata_tmp.exists()
    assert all(p.exists() for p in fresh) and growing.exists()


def test_gc_rejects_a_bad_duration(cli: Cli, registry: Ebonite) -> None:
    assert_one_line_error(cli("gc", "--older-than", "3 days"), 2, "--older-than", "e.g. 30m, 2h, 7d")


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), ("1w", 604800), ("1h30m", 5400)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "h", "1x", "1h 30m", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="Invalid duration"):
        parse_duration(text)


def test_verify_and_gc_refuse_an_unreadable_registry(cli: Cli, registry: Ebonite) -> None:
    shutil.copy(registry.meta_repo.path, registry.meta_repo.path.with_suffix(".bak"))
    registry.meta_repo.path.write_text("{ not json")
    for command in ("verify", "gc", "ls"):
        assert_one_line_error(cli(command), 1, "metadata.json is not valid JSON", "left untouched")
    assert registry.meta_repo.path.read_text() == "{ not json"
    assert len(registry.artifact_repo.keys()) == 3, "gc removed nothing"


def test_gc_cleans_the_temporary_directories_of_killed_processes_only(cli: Cli, registry: Ebonite) -> None:
    """Pushes to backends without a staging directory (S3) stage files in the system's temporary directory,
    named after their process: gc removes those of processes that are gone, never a running one's."""
    system_tmp = Path(cli.env["TMPDIR"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = system_tmp / f"ebonite-push-{int(dead.stdout)}-abc"
    running = system_tmp / f"ebonite-push-{os.getpid()}-def"
    loading = system_tmp / f"ebonite-load-{int(dead.stdout)}-ghi"
    unrelated = system_tmp / "ebonite-push-notapid"
    for directory in (gone, running, loading, unrelated):
        directory.mkdir()
        (directory / "model.pkl").write_bytes(b"x")
        age(directory, 48 * HOUR)
    result = cli("gc")
    assert result.returncode == 0, result.stderr
    assert "Removed 0 unreferenced keys and 2 leftovers." in result.stdout
    assert not gone.exists() and not loading.exists()
    assert running.exists() and unrelated.exists()


@pytest.mark.parametrize("text", ["1000000d", "99999999999999999999w", "3000000000000s"])
def test_gc_refuses_a_duration_beyond_any_date_as_a_usage_error(cli: Cli, registry: Ebonite, text: str) -> None:
    assert_one_line_error(cli("gc", "--older-than", text), 2, "--older-than", "at most")
    assert len(registry.artifact_repo.keys()) == 3, "gc removed nothing"


def test_collect_garbage_refuses_a_negative_or_overflowing_grace_period(registry: Ebonite) -> None:
    """A negative grace period would collect the keys of pushes in progress; one beyond the calendar overflows."""
    from datetime import timedelta

    from ebonite_core.maintenance.gc import collect_garbage

    for grace in (timedelta(seconds=-1), timedelta.max):
        with pytest.raises(ValueError, match="grace period"):
            collect_garbage(registry, grace)
    assert len(registry.artifact_repo.keys()) == 3


def test_gc_checks_each_key_again_right_before_deleting_it(registry: Ebonite, tmp_path: Path) -> None:
    """gc judges a killed copy's leftover old and unreferenced; before it deletes it, the copy is run again
    (and an older client records a model under that very key). The copy writes under a fresh key and gc
    checks each key again right before deleting it: every model of the target stays complete."""
    from ebonite_core import LocalArtifactRepository, Model
    from ebonite_core.maintenance import collect_garbage, copy_models, verify

    target = Ebonite.local(tmp_path / "target")
    scale = registry.get_model("scale", "iris", "demo")
    leftover = scale.artifact_key  # what a killed copy left: the source's key in the target, unreferenced
    target.artifact_repo.push(leftover, {"model.pkl": registry.artifact_repo.local_path(leftover, "model.pkl")})
    age(target.artifact_repo.root / leftover, 48 * HOUR)
    reused = "f" * 32  # a second leftover, which an older client re-uploads and records
    target.artifact_repo.push(reused, {"model.pkl": registry.artifact_repo.local_path(leftover, "model.pkl")})
    age(target.artifact_repo.root / reused, 60 * HOUR)
    older = orphan(target, "0" * 32, seconds_ago=72 * HOUR)  # the oldest: gc deletes it first
    meanwhile: list[str] = []

    class Resuming(LocalArtifactRepository):
        def delete(self, key: str) -> None:
            if not meanwhile:  # between gc's judgement and its deletions
                meanwhile.append(key)
                copy_models(registry, target)
                stored = target.get_model("scale", "iris", "demo")
                record = Model.from_dict({**stored.to_dict(), "id": None, "name": "again", "artifact_key": reused})
                target.meta_repo.create_model(record)
            super().delete(key)

    report = collect_garbage(Ebonite(target.meta_repo, Resuming(target.artifact_repo.root)))
    assert meanwhile == ["0" * 32] and not older.exists()
    assert reused not in report.removed_keys and reused in target.artifact_repo.keys()
    assert verify(target).problems == [], "every model of the target complete"
    assert target.get_model("again", "iris", "demo").predict([1.0]) == [2.0]


def user_folders(root: Path) -> dict[str, bytes]:
    """A user's own folders kept where the artifacts go, two days old; returns their files' contents."""
    files = {
        "bert-base/config.json": b"{}",
        "resnet50/weights.bin": b"\x00" * 100,
        "0cc175b9c0f1b6a831c399e269772661/blob": b"a cache folder named by an md5",
        "teamb/" + "1" * 32 + "/" + KEY_MARKER: b"another registry nested inside",
    }
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    for top in {name.split("/")[0] for name in files}:
        age(root / top, 48 * HOUR)
    return files


def test_gc_verify_and_rm_leave_a_users_folders_next_to_the_models_alone(cli: Cli, tmp_path: Path) -> None:
    """[artifact] path = "models", where the user keeps bert-base/ and resnet50/: only what the store wrote
    (a key with its marker) is ever listed, reported or collected."""
    models = tmp_path / "models"
    config = tmp_path / "ebonite.json"
    document = {"metadata": {"type": "local", "path": "registry/metadata.json"}, "artifact": {"type": "local"}}
    config.write_text(json.dumps({**document, "artifact": {"type": "local", "path": "models"}}))
    mine = user_folders(models)
    ebnt = Ebonite.from_config(config)
    task = ebnt.get_or_create_task("p", "t")
    task.create_and_push_model(ScaleModel(2.0), [1.0], "kept")
    task.create_and_push_model(ScaleModel(3.0), [1.0], "removed")
    for path in models.iterdir():
        age(path, 48 * HOUR)

    assert cli("verify", "--config", config).returncode == 0, "a user's folders are no unreferenced keys"
    assert cli.json("gc", "--config", config)["removed_keys"] == []
    assert cli("rm", "--yes", "--config", config, "p/t/removed").returncode == 0
    assert cli.json("gc", "--older-than", "0", "--config", config)["removed_keys"] == []
    assert {name: (models / name).read_bytes() for name in mine} == mine
    assert ebnt.get_model("kept", "t", "p").predict([1.0]) == [2.0]


@pytest.mark.parametrize("private", [".trash", ".tmp", ".staging"])
def test_gc_never_follows_a_link_planted_as_a_private_folder(
    cli: Cli, registry: Ebonite, tmp_path: Path, private: str
) -> None:
    """`ln -s /some/victim .ebonite/artifacts/.trash`, then `ebonite gc`: the victim's old files stay, and so
    does the link (not ebonite's to remove); pushes stage their files elsewhere."""
    victim = tmp_path / "victim"
    (victim / "old-folder").mkdir(parents=True)
    (victim / "old-folder" / "data").write_bytes(b"precious")
    (victim / "old-file").write_bytes(b"precious")
    age(victim / "old-folder", 1000 * HOUR)
    age(victim / "old-file", 1000 * HOUR)
    root = registry.artifact_repo.root
    if (root / private).exists():
        shutil.rmtree(root / private)
    (root / private).symlink_to(victim)

    result = cli("gc", "--older-than", "0")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in victim.iterdir()) == ["old-file", "old-folder"]
    assert (victim / "old-folder" / "data").read_bytes() == b"precious" and (root / private).is_symlink()
    assert "not a directory ebonite made" in result.stderr
    if private != ".tmp":  # pushes need .tmp, and refuse to write through the link
        registry.create_model(ScaleModel(4.0), [1.0], "after", project_name="demo", task_name="iris")
        registry.delete_model(registry.get_model("after", "iris", "demo"))
    assert sorted(path.name for path in victim.iterdir()) == ["old-file", "old-folder"]
    assert cli("verify").returncode == 0
