"""Reading stored records back: a malformed one is a MetadataCorruptError naming the record and the problem."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ebonite_core import MetadataCorruptError, Model, Project, Task
from ebonite_core.testing import make_model

Record = dict[str, Any]


def _model() -> Record:
    return {**make_model("m", "2").to_dict(), "id": "3"}


def _without(record: Record, key: str) -> Record:
    return {name: value for name, value in record.items() if name != key}


def _artifact(**changes: Any) -> Record:
    return {**_model(), "artifacts": [{**_model()["artifacts"][0], **changes}]}


MALFORMED: list[tuple[str, Callable[[], Record], str]] = [
    ("no serializer", lambda: _without(_model(), "serializer"), "'serializer' is missing"),
    ("serializer not text", lambda: {**_model(), "serializer": 3}, "serializer"),
    ("no creation date", lambda: _without(_model(), "creation_date"), "'creation_date' is missing"),
    ("creation date not a date", lambda: {**_model(), "creation_date": "yesterday"}, "'yesterday'"),
    ("artifacts not a list", lambda: {**_model(), "artifacts": "model.pkl"}, "'artifacts' must be a list"),
    ("artifact without sha256", lambda: {**_model(), "artifacts": [{"name": "a", "size": 1}]}, "'sha256' is missing"),
    ("sha256 not hexadecimal", lambda: _artifact(sha256="x" * 64), "64 hexadecimal digits"),
    ("negative size", lambda: _artifact(size=-1), "number of bytes"),
    ("size as text", lambda: _artifact(size="3"), "number of bytes"),
    ("file name escaping the key", lambda: _artifact(name="../../metadata.json"), "artifact file name"),
    ("key escaping the store", lambda: {**_model(), "artifact_key": "../../etc"}, "artifact key"),
    ("params not an object", lambda: {**_model(), "params": [1, 2]}, "'params' must be an object"),
]


@pytest.mark.parametrize(("problem", "record", "fragment"), MALFORMED, ids=[problem for problem, _, _ in MALFORMED])
def test_a_malformed_model_record_names_the_model_and_the_problem(
    problem: str, record: Callable[[], Record], fragment: str
) -> None:
    with pytest.raises(MetadataCorruptError) as raised:
        Model.from_dict(record())
    assert "model 'm' (id '3')" in str(raised.value) and fragment in str(raised.value)


def test_malformed_project_and_task_records() -> None:
    with pytest.raises(MetadataCorruptError, match=r"project 'p' .* 'creation_date' is missing"):
        Project.from_dict({"id": "1", "name": "p"})
    with pytest.raises(MetadataCorruptError, match=r"task 't' .* 'project_id' is missing"):
        Task.from_dict({"id": "2", "name": "t", "creation_date": "2024-01-01T00:00:00+00:00"})
    with pytest.raises(MetadataCorruptError, match="task entry 'junk'"):
        Task.from_dict("junk")  # type: ignore[arg-type]


def test_a_well_formed_record_round_trips() -> None:
    record = _model()
    assert Model.from_dict(record).to_dict() == record
