"""Hostile input: names, params, objects, samples, artifact file names and metadata entries meant to break
the store. Each gets a clear error and leaves the store exactly as it was, or (for valid input) is stored and
read back exactly, on every backend.

Property-based (hypothesis) where the input space is large: names (unicode, control characters, lone
surrogates, ``..``, ``/``, very long, empty), params, and artifact file names chosen by a serializer.
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_report import FaultRecord
from rel_stores import StoreSpec, local_artifacts, local_metadata, sqlite_metadata, tree_snapshot

from ebonite_core import (
    Ebonite,
    InvalidNameError,
)
from ebonite_core.objects import check_name
from ebonite_core.testing import ScaleModel

SAMPLE = [1.0]
EXAMPLES = 30
# The hostile objects are defined here, in a module no installed distribution provides: that is expected.
pytestmark = pytest.mark.filterwarnings("ignore::ebonite_core.model.requirements.RequirementsWarning")


def _settings(examples: int = EXAMPLES) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# Stores
@pytest.fixture(params=["local", "sqlite", "postgresql", "mariadb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[StoreSpec, Ebonite]]:
    """A client on each metadata backend (with local artifacts)."""
    kind = request.param
    if kind == "local":
        spec = StoreSpec("local + local", "local", "local", local_metadata(tmp_path), local_artifacts(tmp_path))
    elif kind == "sqlite":
        spec = StoreSpec("sqlite + local", "sqlalchemy", "local", sqlite_metadata(tmp_path), local_artifacts(tmp_path))
    else:
        url = request.getfixturevalue("new_database")(kind)
        spec = StoreSpec(f"{kind} + local", "sqlalchemy", "local", {"db_uri": url}, local_artifacts(tmp_path))
    ebnt = spec.open()
    yield spec, ebnt
    ebnt.close()


def _state(ebnt: Ebonite, tmp_path: Path) -> tuple[Any, ...]:
    """Everything the store holds, to compare before and after an operation that must change nothing."""
    listing = [
        (project.name, task.name, model.name, model.artifact_key, model.params, model.description)
        for project in ebnt.get_projects()
        for task in ebnt.get_tasks(project)
        for model in ebnt.get_models(task)
    ]
    projects = [(project.id, project.name) for project in ebnt.get_projects()]
    return projects, listing, tree_snapshot(tmp_path / "artifacts") if (tmp_path / "artifacts").exists() else {}


# Names
def _is_valid(name: str) -> bool:
    try:
        check_name(name)
    except InvalidNameError:
        return False
    return True


# Pairs that some databases (case-insensitive or accent-insensitive collations, normalization) would merge.
CONFUSABLE = ["a", "A", "é", "e\u0301", "ß", "ss", "ﬁ", "fi", "a\u200b", "İ", "i̇", "Ω", "Ω", "\U0001f600", "x" * 255]
VALID_NAMES = st.one_of(
    st.sampled_from(CONFUSABLE),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(_is_valid),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Zs", "Cs"]), min_size=250, max_size=255).filter(
        _is_valid
    ),
)
LONE_SURROGATES = st.characters(categories=["Cs"])


def _around(head: str, middle: str, tail: str) -> str:
    return head + middle + tail


INVALID_NAMES = st.one_of(
    st.sampled_from(["", ".", "..", "/", "a/b", "..\\..\\x", "../../etc/passwd", " a", "a ", "\t", "x" * 256]),
    st.builds(_around, st.text(max_size=5), st.sampled_from("/\\\x00\n\x7f\x1b"), st.text(max_size=5)),
    st.builds(_around, st.text(max_size=5), LONE_SURROGATES, st.text(max_size=5)),
    st.text(min_size=256, max_size=300),
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda text: f" {text}"),
)


def test_valid_names_are_stored_and_found_exactly(
    store: tuple[StoreSpec, Ebonite], fault: Callable[..., FaultRecord]
) -> None:
    """Any valid name (unicode, very long, confusable with another) names exactly one project, task and model."""
    spec, ebnt = store
    record = fault("hostile input", "hypothesis: valid unicode names, long and confusable ones", spec.label)

    @_settings()
    @given(names=st.lists(VALID_NAMES, min_size=2, max_size=3, unique=True))
    def check(names: list[str]) -> None:
        record.runs += 1
        host = ebnt.get_or_create_task("names", "models")
        for number, name in enumerate(names):
            ebnt.get_or_create_task(name, name)
            host.create_and_push_model(ScaleModel(float(number)), SAMPLE, name)
        try:
            for number, name in enumerate(names):
                assert ebnt.get_project(name).name == name
                assert ebnt.get_task(name, name).name == name
                assert ebnt.get_model(name, host).predict(SAMPLE) == [float(number)]
            assert sorted(model.name for model in ebnt.get_models(host)) == sorted(names)
        finally:
            for project in ebnt.get_projects():
                ebnt.delete_project(project, cascade=True)

    check()
    assert ebnt.get_projects() == []


def test_invalid_names_are_refused_and_change_nothing(
    store: tuple[StoreSpec, Ebonite], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """Empty, too long, '.', '..', '/', '\\', control characters, lone surrogates, surrounding whitespace."""
    spec, ebnt = store
    record = fault("hostile input", "hypothesis: invalid names (x 5 operations each)", spec.label)
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "existing")
    before = _state(ebnt, tmp_path)

    @_settings(40)
    @given(name=INVALID_NAMES)
    def check(name: str) -> None:
        operations: list[Callable[[], object]] = [
            lambda: ebnt.create_project(name),
            lambda: ebnt.get_or_create_task(name, "task"),
            lambda: ebnt.get_or_create_task("project", name),
            lambda: task.create_and_push_model(ScaleModel(2.0), SAMPLE, name),
            lambda: ebnt.create_model(ScaleModel(2.0), SAMPLE, "fine", project_name=name, task_name=name),
        ]
        for operation in operations:
            with pytest.raises(InvalidNameError):
                operation()
            record.runs += 1
        assert _state(ebnt, tmp_path) == before

    check()


def test_unicode_categories_in_names_are_judged_consistently() -> None:
    """The name rules are the same whatever the backend: every control character is refused, every lone
    surrogate too (UTF-8 cannot encode one, so no backend could store it)."""
    for code in itertools.chain(range(0x20), range(0x7F, 0xA0), range(0xD800, 0xE000, 0x101)):
        char = chr(code)
        assert not _is_valid(f"a{char}b"), (hex(code), unicodedata.category(char))
