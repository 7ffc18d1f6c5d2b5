"""The ebonite command on the team set-up, sqlalchemy metadata on SQLite and S3 artifacts on moto's server:
copy from a local store, ls, verify (missing, changed, unreferenced objects), a copy interrupted half-way and
run again, save_config."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ebonite_s3.repository import S3ArtifactRepository
from s3_servers import MotoServer, child_environment, new_bucket_name

from ebonite_core import Ebonite
from ebonite_core.repository import KEY_MARKER
from ebonite_core.testing import ScaleModel

EBONITE = str(Path(sys.executable).parent / "ebonite")


def ebonite(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EBONITE, *map(str, args)], cwd=cwd, env=child_environment(), capture_output=True, text=True, input=""
    )


def metadata_section(tmp_path: Path) -> str:
    return f'[metadata]\ntype = "sqlalchemy"\ndb_uri = "sqlite:///{tmp_path / "team.db"}"\n'


@pytest.fixture
def team(moto_server: MotoServer, tmp_path: Path) -> Iterator[Path]:
    """A config file naming the team registry: a SQLite database, and a fresh bucket on moto's server."""
    bucket = new_bucket_name()
    moto_server.client().create_bucket(Bucket=bucket)
    config = tmp_path / "team.toml"
    config.write_text(
        metadata_section(tmp_path)
        + f'\n[artifact]\ntype = "s3"\nbucket_name = "{bucket}"\nendpoint = "{moto_server.endpoint}"\n'
        + 'prefix = "registry"\n'
    )
    yield config
    moto_server.reset()


@pytest.fixture
def local(tmp_path: Path) -> Ebonite:
    """The local store a user outgrew: four models in p/t and an empty task."""
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    for index in range(4):
        ebnt.create_model(ScaleModel(float(index), b"x" * 3000), [1.0], f"m{index}", project_name="p", task_name="t")
    ebnt.get_or_create_task("p", "empty")
    return ebnt


def test_copy_into_s3_then_ls_and_verify(team: Path, local: Ebonite, tmp_path: Path) -> None:
    result = ebonite("copy", "--to", team, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "4 models: 4 copied, 0 already there, 0 in conflict, 0 failed."

    listing = json.loads(ebonite("ls", "--json", "--config", team, cwd=tmp_path).stdout)
    [project] = listing["projects"]
    assert [(task["name"], task["model_count"]) for task in project["tasks"]] == [("t", 4), ("empty", 0)]
    assert project["size"] == sum(model.artifacts[0].size for model in local.get_models("t", "p"))
    verified = ebonite("verify", "--config", team, cwd=tmp_path)
    assert verified.returncode == 0 and "Checked 4 models, 4 files" in verified.stdout, verified.stdout

    target = Ebonite.from_config(team)
    assert isinstance(target.artifact_repo, S3ArtifactRepository)
    assert [model.predict([1.0]) for model in target.get_models("t", "p")] == [[0.0], [1.0], [2.0], [3.0]]
    again = ebonite("copy", "--to", team, cwd=tmp_path)
    assert again.returncode == 0 and "0 copied, 4 already there" in again.stdout
    assert sorted(target.artifact_repo.keys()) == sorted(model.artifact_key for model in target.get_models("t", "p"))


def test_verify_finds_missing_changed_and_unreferenced_objects(team: Path, local: Ebonite, tmp_path: Path) -> None:
    assert ebonite("copy", "--to", team, cwd=tmp_path).returncode == 0
    target = Ebonite.from_config(team)
    repository: S3ArtifactRepository = target.artifact_repo  # type: ignore[assignment]
    bucket, client = repository.bucket_name, repository.client
    first, second, third = target.get_models("t", "p")[:3]
    client.delete_object(Bucket=bucket, Key=repository.object_prefix(first.artifact_key) + "model.pkl")
    client.put_object(Bucket=bucket, Key=repository.object_prefix(second.artifact_key) + "model.pkl", Body=b"new")
    client.put_object(Bucket=bucket, Key=repository.object_prefix(third.artifact_key) + "stray.bin", Body=b"?")
    for name in (KEY_MARKER, "model.pkl"):  # what a killed push leaves: the marker comes first
        client.put_object(Bucket=bucket, Key=repository.object_prefix("0rphan") + name, Body=b"?")

    result = ebonite("verify", "--config", team, cwd=tmp_path)
    assert result.returncode == 1
    rows = [line.split()[:3] for line in result.stdout.splitlines()[1:5]]
    assert rows == [
        ["missing", "p/t/m0", "model.pkl"],
        ["changed", "p/t/m1", "model.pkl"],
        ["unreferenced", "p/t/m2", "stray.bin"],
        ["unreferenced", "key", "0rphan"],
    ]


def test_a_copy_interrupted_half_way_finishes_when_run_again(team: Path, local: Ebonite, tmp_path: Path) -> None:
    # What a copy killed half-way leaves behind: some models complete, and the files of the next one
    # uploaded under its key with no metadata written yet.
    assert ebonite("copy", "--to", team, "p/t/m0", cwd=tmp_path).returncode == 0
    target = Ebonite.from_config(team)
    half = local.get_model("m1", "t", "p")
    source_file = local.artifact_repo.local_path(half.artifact_key, "model.pkl")
    target.artifact_repo.push(half.artifact_key, {"model.pkl": source_file})
    assert ebonite("verify", "--config", team, cwd=tmp_path).returncode == 1, "the leftover is unreferenced"

    result = ebonite("copy", "--to", team, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "3 copied, 1 already there" in result.stdout
    assert half.artifact_key not in {model.artifact_key for model in target.get_models("t", "p")}, "never reused"
    assert half.artifact_key in target.artifact_repo.keys(), "copy deletes nothing it did not create"
    assert "1 unreferenced" in ebonite("verify", "--config", team, cwd=tmp_path).stdout
    assert ebonite("gc", "--older-than", "0", "--config", team, cwd=tmp_path).returncode == 0
    assert ebonite("verify", "--config", team, cwd=tmp_path).returncode == 0


def test_save_config_writes_the_s3_options_and_reads_them_back(team: Path, tmp_path: Path) -> None:
    ebnt = Ebonite.from_config(team)
    copy = tmp_path / "copy" / "team.json"
    copy.parent.mkdir()
    assert ebnt.save_config(copy) == [], "no secret among the options: boto3 finds the credentials"
    artifact = json.loads(copy.read_text())["artifact"]
    assert artifact == {
        "type": "s3",
        "bucket_name": ebnt.artifact_repo.bucket_name,
        "endpoint": ebnt.artifact_repo.endpoint,
        "prefix": "registry",
    }
    assert json.loads(copy.read_text())["metadata"] == {
        "type": "sqlalchemy",
        "db_uri": f"sqlite:///{tmp_path / 'team.db'}",
    }
    reread = Ebonite.from_config(copy)
    assert reread.artifact_repo.config() == ebnt.artifact_repo.config()
    assert reread.meta_repo.config() == ebnt.meta_repo.config()
