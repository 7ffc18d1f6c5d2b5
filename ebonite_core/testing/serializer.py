"""The contract every ModelSerializer keeps: round trip, requirements, recorded format, and no code run from
poisoned files by a serializer that declares itself safe.

Subclass it, name the serializer and the distributions a model must record, and return a trained object
with a data sample from the ``sample`` fixture::

    class TestSkopsSerializer(SerializerContract):
        serializer = SkopsSerializer
        required_distributions = ("scikit-learn", "skops", "ebonite-skops")

        @pytest.fixture
        def sample(self):
            return LogisticRegression().fit(X, y), X[:5]

The serializer must be installed (registered through its entry point) so that the client finds it by type.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..client import Ebonite
from ..errors import UnsafeModelError
from ..model import ModelSerializer, create_model
from ..model.safety import describe_format
from ..objects import Model, is_additional_artifact


class MarkerPayload:
    """Unpickling this creates the file ``path``: what a poisoned model file does to prove it ran code. Its
    ``predict`` returns its input, so that it can be pushed as a model."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def predict(self, data: Any) -> Any:
        return data

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


def pickle_payload(marker: Path) -> bytes:
    """A pickle whose loading creates ``marker``."""
    return pickle.dumps(MarkerPayload(marker), protocol=2)


def zip_payload(marker: Path) -> bytes:
    """A zip holding the pickle payload under the names ``torch.load`` (and loaders like it) unpickle."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_payload(marker))
        archive.writestr("archive/version", "3\n")
        archive.writestr("archive/byteorder", "little")
        archive.writestr("data.pkl", pickle_payload(marker))
    return buffer.getvalue()


def plain(value: Any) -> Any:
    """``value`` as plain Python data, for comparing predictions: arrays, tensors and frames become lists."""
    if hasattr(value, "to_numpy"):  # pandas
        value = value.to_numpy()
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


class SerializerContract:
    """Set ``serializer`` and ``required_distributions``; override the ``sample`` fixture.

    ``poisoned_files`` makes the poisoned variants of a model's files; a plugin adds its framework's own
    unsafe paths (a ``torch.save`` file with a payload, a skops file naming an untrusted type) by overriding
    it and extending the base's list.
    """

    serializer: ClassVar[type[ModelSerializer]]
    required_distributions: ClassVar[tuple[str, ...]] = ()

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        raise NotImplementedError("Override the sample fixture: return (trained object, input data sample).")

    @pytest.fixture
    def ebnt(self, tmp_path: Path) -> Ebonite:
        return Ebonite.local(tmp_path / "store")

    @pytest.fixture
    def pushed(self, ebnt: Ebonite, sample: tuple[Any, Any]) -> Model:
        obj, data = sample
        model = create_model(obj, data, "contract")
        return ebnt.get_or_create_task("project", "task").push_model(model)

    def poisoned_files(self, marker: Path, files: dict[str, bytes]) -> list[tuple[str, dict[str, bytes]]]:
        """``(label, {file name: bytes})`` variants of the model's ``files`` crafted to create ``marker``."""
        return [
            ("pickle", {name: pickle_payload(marker) for name in files}),
            ("pickle in a zip", {name: zip_payload(marker) for name in files}),
        ]

    def test_is_chosen_for_its_objects(self, sample: tuple[Any, Any]) -> None:
        obj, data = sample
        assert create_model(obj, data).serializer == self.serializer.type

    def test_round_trip_gives_equal_predictions(self, tmp_path: Path, pushed: Model, sample: tuple[Any, Any]) -> None:
        obj, data = sample
        # A new client on the same store; a safe format loads where code-running formats are refused.
        loaded = Ebonite.local(tmp_path / "store", allow_pickle=not self.serializer.safe).get_model(
            "contract", "task", "project"
        )
        assert loaded is not None and loaded.object is not obj
        for method in pushed.methods:
            expected = obj(data) if method == "__call__" else getattr(obj, method)(data)
            assert plain(loaded.call(method, data)) == plain(expected), method

    def test_format_is_recorded(self, pushed: Model) -> None:
        assert pushed.serializer == self.serializer.type
        assert pushed.format["safe"] is self.serializer.safe
        text = "loads without running code" if self.serializer.safe else "loading runs code from the file"
        assert describe_format(pushed) == f"{self.serializer.type}: {text}"

    def test_requirements_name_the_framework_and_plugin(self, pushed: Model) -> None:
        for distribution in self.required_distributions:
            assert pushed.requirements.get(distribution) == metadata.version(distribution), distribution

    def test_poisoned_files_never_run_code(self, tmp_path: Path, ebnt: Ebonite, pushed: Model) -> None:
        """A store whose files *and* metadata were replaced (the manifest matches the poisoned bytes): a safe
        serializer refuses the files or loads them inert even where pickle is allowed; an unsafe one is
        refused by the gate before anything is read."""
        assert pushed.artifact_key is not None
        originals = {}
        (tmp_path / "original").mkdir()
        for artifact in pushed.artifacts:
            if not is_additional_artifact(artifact.name):
                path = tmp_path / "original" / artifact.name
                ebnt.artifact_repo.download(pushed.artifact_key, artifact.name, path)
                originals[artifact.name] = path.read_bytes()
        marker = tmp_path / "marker"
        for number, (label, files) in enumerate(self.poisoned_files(marker, originals)):
            poisoned = store_by_hand(ebnt, pushed, f"poisoned-{number}", files, tmp_path / f"poison-{number}")
            client = Ebonite(ebnt.meta_repo, ebnt.artifact_repo, allow_pickle=self.serializer.safe)
            model = client.get_model(poisoned.name, "task", "project")
            assert model is not None
            if self.serializer.safe:
                try:
                    model.load()
                except Exception:
                    pass  # refused: fine
            else:
                with pytest.raises(UnsafeModelError):
                    model.load()
            assert not marker.exists(), f"the {label} variant ran code when loaded by {self.serializer.type!r}"


def store_by_hand(ebnt: Ebonite, model: Model, name: str, files: dict[str, bytes], scratch: Path) -> Model:
    """Store ``files`` under a new key with a metadata entry copied from ``model`` whose manifest matches
    them: what someone who can write both the metadata and the artifacts could do."""
    from ..model.storage import new_artifact_key, sha256_of
    from ..objects import ArtifactFile

    scratch.mkdir(parents=True)
    paths = {}
    for file_name, data in files.items():
        paths[file_name] = scratch / file_name
        paths[file_name].write_bytes(data)
    key = new_artifact_key()
    ebnt.artifact_repo.push(key, paths)
    manifest = [ArtifactFile(file_name, path.stat().st_size, sha256_of(path)) for file_name, path in paths.items()]
    entry = {**model.to_dict(), "id": None, "name": name, "artifact_key": key}
    entry["artifacts"] = [artifact.to_dict() for artifact in manifest]
    return ebnt.meta_repo.create_model(Model.from_dict(entry))
