"""Additional artifacts (Ebonite 0.7's ``additional_artifacts``): stored with the model, in its manifest,
checked on load and by ``ebonite verify``, given back as local files."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from cli_support import Cli, artifact_dir

from ebonite_core import ArtifactIntegrityError, Ebonite, create_model
from ebonite_core.testing import ScaleModel

SAMPLE = [1.0, 2.0]


@pytest.fixture
def vocabulary(tmp_path: Path) -> Path:
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\n")
    return path


def test_files_and_bytes_come_back_with_the_model(tmp_path: Path, vocabulary: Path) -> None:
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    extra = {"vocab.txt": vocabulary, "threshold.json": b'{"t": 0.5}'}
    pushed = ebnt.create_model(ScaleModel(), SAMPLE, "m", project_name="p", task_name="t", additional_artifacts=extra)
    assert pushed.additional_artifacts["threshold.json"].read_bytes() == b'{"t": 0.5}'
    names = sorted(artifact.name for artifact in pushed.artifacts)
    assert names == ["additional.threshold.json", "additional.vocab.txt", "model.pkl"]
    vocabulary.write_text("changed after the push")  # the stored copy is what was pushed

    loaded = Ebonite.local(tmp_path / ".ebonite").get_model("m", "t", "p")
    files = loaded.additional_artifacts  # loads the model on first use
    assert loaded.predict([1.0]) == [2.0]
    assert files["vocab.txt"].read_text() == "a\nb\n" and files["threshold.json"].read_bytes() == b'{"t": 0.5}'
    directory = files["vocab.txt"].parent
    assert not directory.is_relative_to(tmp_path / ".ebonite")  # reading never writes into the store
    del loaded, files
    gc.collect()
    assert not directory.exists()  # the private copies go with the model object


def test_a_changed_additional_file_is_refused_on_load_and_reported_by_verify(
    tmp_path: Path, vocabulary: Path, cli: Cli
) -> None:
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    ebnt.create_model(
        ScaleModel(), SAMPLE, "m", project_name="p", task_name="t", additional_artifacts={"v": vocabulary}
    )
    (artifact_dir(ebnt, "p/t/m") / "additional.v").write_text("tampered")
    with pytest.raises(ArtifactIntegrityError, match=r"'additional\.v' of model 'm'"):
        ebnt.get_model("m", "t", "p").load()
    result = cli("verify")
    assert result.returncode == 1 and "changed" in result.stdout and "additional.v" in result.stdout


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        ({"../x": b""}, "Invalid artifact file name"),
        ({"ok": 3}, "must be a path"),
        ({"ok": "/no/such/file"}, "not an existing file"),
        (["ok"], "must be a dict"),
    ],
)
def test_bad_additional_artifacts_are_clear_errors(artifacts: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_model(ScaleModel(), SAMPLE, "m", additional_artifacts=artifacts)  # type: ignore[arg-type]
