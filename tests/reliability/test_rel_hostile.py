"""Hostile input: names, params, objects, samples, artifact file names and metadata entries meant to break
the store. Each gets a clear error and leaves the store exactly as it was, or (for valid input) is stored and
read back exactly, on every backend.

Property-based (hypothesis) where the input space is large: names (unicode, control characters, lone
surrogates, ``..``, ``/``, very long, empty), params, and artifact file names chosen by a serializer.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rel_report import REPORT_VARIABLE, FaultRecord
from rel_stores import StoreSpec, local_artifacts, local_metadata, sqlite_metadata, tree_snapshot

from ebonite_core import (
    Ebonite,
    InvalidNameError,
    MetadataCorruptError,
    ModelSerializer,
    create_model,
    hookimpl,
)
from ebonite_core.maintenance.gc import collect_garbage
from ebonite_core.maintenance.verify import verify
from ebonite_core.objects import check_name
from ebonite_core.plugins import get_registry
from ebonite_core.repository import KEY_MARKER
from ebonite_core.testing import ScaleModel

SAMPLE = [1.0]
# Fewer examples in the everyday suite than in the report's campaign (make reliability-report).
EXAMPLES = 30 if os.environ.get(REPORT_VARIABLE) else 10
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


# Params
# Any text UTF-8 and PostgreSQL can store: no lone surrogate, no NUL (both refused: the "bad" params below).
TEXT = st.characters(codec="utf-8", exclude_characters="\x00")
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(TEXT),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(TEXT, max_size=8), children, max_size=3),
    max_leaves=8,
)
NOT_JSON = st.sampled_from(
    [
        {1, 2},
        b"bytes",
        object(),
        float("nan"),
        float("inf"),
        ScaleModel(),
        {"nested": {"deeper": {3, 4}}},
        (1j,),
    ]
)


def _same(left: Any, right: Any) -> bool:
    """Equal, with the same types (1 is not 1.0) and the sign of zero kept."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    return bool(left == right)


def test_params_are_stored_exactly_or_refused(
    store: tuple[StoreSpec, Ebonite], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """JSON params (any Unicode but NUL, big integers, -0.0, nesting) come back identical; anything else (sets, bytes,
    objects, NaN, infinity, lone surrogates, NUL) is a ValueError and the store is unchanged."""
    spec, ebnt = store
    record = fault("hostile input", "hypothesis: params, JSON and not (sets, NaN, surrogates...)", spec.label)
    task = ebnt.get_or_create_task("project", "task")
    counter = itertools.count()

    @_settings()
    @given(
        good=st.dictionaries(st.text(TEXT, max_size=10), JSON_VALUES, max_size=4),
        bad=st.one_of(
            NOT_JSON.map(lambda value: {"bad": value}),
            st.builds(lambda text: {"text": text + "\ud800"}, st.text(max_size=5)),
            st.builds(lambda text: {text + "\udfff": 1}, st.text(max_size=5)),
            st.builds(lambda text: {"text": text + "\x00"}, st.text(max_size=5)),
            st.builds(lambda text: {text + "\x00": [1]}, st.text(max_size=5)),
        ),
    )
    def check(good: dict[str, Any], bad: dict[str, Any]) -> None:
        name = f"model-{next(counter)}"
        stored = task.create_and_push_model(ScaleModel(1.0), SAMPLE, name, params=good)
        assert _same(ebnt.get_model(name, task).params, good), (good, ebnt.get_model(name, task).params)
        assert _same(stored.params, good)
        before = _state(ebnt, tmp_path)
        with pytest.raises(ValueError, match=r"params|Unicode|surrogate|NUL"):
            task.create_and_push_model(ScaleModel(1.0), SAMPLE, f"{name}-bad", params=bad)
        assert _state(ebnt, tmp_path) == before
        record.runs += 2

    check()


def test_other_metadata_text_with_lone_surrogates_is_refused(
    store: tuple[StoreSpec, Ebonite], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """A description, tag or alias with text that UTF-8 cannot encode: refused before anything is written."""
    spec, ebnt = store
    record = fault("hostile input", "lone surrogates in description, tags, alias", spec.label)
    task = ebnt.get_or_create_task("project", "task")
    model = task.create_and_push_model(ScaleModel(1.0), SAMPLE, "model")
    before = _state(ebnt, tmp_path)
    attempts: list[Callable[[], object]] = [
        lambda: task.create_and_push_model(ScaleModel(1.0), SAMPLE, "other", description="broken \udc80 text"),
        lambda: task.create_and_push_model(ScaleModel(1.0), SAMPLE, "other", tags={"stage": "a\ud83d"}),
        lambda: task.create_and_push_model(ScaleModel(1.0), SAMPLE, "other", tags={"st\ud83dage": "a"}),
        lambda: ebnt.set_model_tags(model, {"stage": "\udfff"}),
        lambda: ebnt.set_alias(task, "best\ud800", model),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError):
            attempt()
        record.runs += 1
    assert _state(ebnt, tmp_path) == before


# Objects and samples
class Unpicklable:
    """Refuses to be pickled at all."""

    def predict(self, data: list[float]) -> list[float]:
        return data

    def __reduce__(self) -> Any:
        raise TypeError("this object cannot be pickled")


class PicklesOnce:
    """Pickles once (while its requirements are worked out), then fails: the failure comes during the push."""

    def __init__(self) -> None:
        self.calls = 0

    def predict(self, data: list[float]) -> list[float]:
        return data

    def __reduce__(self) -> Any:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("the second pickling fails")
        return (PicklesOnce, ())


class Picky:
    """A model that rejects the sample it is given."""

    def predict(self, data: Any) -> list[float]:
        if not isinstance(data, list):
            raise TypeError(f"expects a list, got {type(data).__name__}")
        return data


# (what is wrong, the object, the sample, a fragment of the error)
UNSTORABLE: list[tuple[str, Callable[[], Any], Callable[[], Any], str]] = [
    ("a lambda", lambda: lambda data: data, lambda: SAMPLE, "cannot be serialized"),
    ("an object whose pickling raises", Unpicklable, lambda: SAMPLE, "cannot be serialized"),
    ("an object holding a lock", lambda: _WithLock(), lambda: SAMPLE, "cannot be serialized"),
    ("a sample the model rejects", Picky, lambda: "not a list", "data sample failed"),
    ("a generator as the sample", Picky, lambda: (x for x in [1.0]), "data sample failed"),
]


def test_objects_and_samples_that_cannot_be_stored_change_nothing(
    store: tuple[StoreSpec, Ebonite], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """Objects that fail to pickle and samples the model rejects: a ValueError saying so, and no change, even
    when the call would also have created the project and the task."""
    spec, ebnt = store
    record = fault("hostile input", "models that fail to pickle, samples the model rejects (5 kinds)", spec.label)
    ebnt.get_or_create_task("project", "task").create_and_push_model(ScaleModel(1.0), SAMPLE, "existing")
    before = _state(ebnt, tmp_path)
    for case, make, sample, fragment in UNSTORABLE:
        with pytest.raises(ValueError, match=fragment):
            create_model(make(), sample(), "model")
        with pytest.raises(ValueError, match=fragment):
            ebnt.create_model(make(), sample(), "model", project_name="new project", task_name="new task")
        record.runs += 2
        record.note(case, 2)
        assert _state(ebnt, tmp_path) == before, case


class _WithLock:
    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()

    def predict(self, data: list[float]) -> list[float]:
        return data


def test_an_object_that_fails_to_pickle_during_the_push_changes_nothing(
    store: tuple[StoreSpec, Ebonite], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    spec, ebnt = store
    record = fault("hostile input", "model whose pickling fails during the push", spec.label)
    task = ebnt.get_or_create_task("project", "task")
    task.create_and_push_model(ScaleModel(1.0), SAMPLE, "existing")
    before = _state(ebnt, tmp_path)
    model = create_model(PicklesOnce(), SAMPLE, "model")
    with pytest.raises(ValueError, match="second pickling fails") as raised:
        task.push_model(model)
    assert "'model'" in str(raised.value)
    record.runs += 1
    assert _state(ebnt, tmp_path) == before
    staging = tmp_path / "artifacts" / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == [], "staged files were left behind"


# Artifact file names chosen by a serializer
class Hostile:
    """An object whose serializer writes files under the names it carries."""

    def __init__(self, file_names: list[str]) -> None:
        self.file_names = file_names

    def predict(self, data: list[float]) -> list[float]:
        return data


class HostileSerializer(ModelSerializer):
    """Writes one file per name the object carries, whatever the names are."""

    type = "reliability-hostile-names"
    priority = -1000  # never chosen for anything but Hostile objects, and only when asked for

    @classmethod
    def can_serialize(cls, obj: Any) -> bool:
        return isinstance(obj, Hostile)

    def modules(self, obj: Any) -> set[str]:
        return set()

    def dump(self, obj: Any, open_file: Callable[[str], IO[bytes]]) -> None:
        for name in obj.file_names:
            with open_file(name) as file:
                file.write(name.encode("utf-8", "surrogatepass"))

    def load(self, open_file: Callable[[str], IO[bytes]], details: Any) -> Any:
        raise NotImplementedError


class _HostilePlugin:
    @hookimpl
    def ebonite_model_serializers(self) -> list[type[ModelSerializer]]:
        return [HostileSerializer]


@pytest.fixture(scope="module")
def hostile_serializer() -> str:
    registry = get_registry()
    if "reliability-hostile" not in registry.plugins:
        registry.register(_HostilePlugin(), "reliability-hostile")
    return HostileSerializer.type


SAFE_FILE_NAMES = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,30}", fullmatch=True).filter(
    lambda name: ".." not in name
)
ESCAPING_NAMES = [
    "../escaped",
    "../../escaped",
    "/tmp/escaped",
    "a/../../escaped",
    "..",
    ".",
    "",
    ".hidden",
    "-rf",
    "a\\..\\escaped",
    "x" * 256,
    "nul\x00byte",
]


def test_artifact_file_names_never_escape_the_store(
    hostile_serializer: str, tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """Whatever names a serializer asks for, no file is written outside the key's directory, and a refused
    name leaves the store unchanged."""
    record = fault("hostile input", "hypothesis: artifact file names chosen by a serializer", "local + local")
    root = tmp_path / "outer" / "store"
    ebnt = Ebonite.local(root)
    task = ebnt.get_or_create_task("project", "task")
    counter = itertools.count()
    outside_before = _outside(tmp_path, root)

    @_settings(60)
    @given(
        names=st.lists(st.one_of(st.sampled_from(ESCAPING_NAMES), SAFE_FILE_NAMES, st.text(max_size=12)), max_size=3)
    )
    def check(names: list[str]) -> None:
        record.runs += 1
        before = tree_snapshot(root)
        model = create_model(Hostile(names), SAMPLE, f"model-{next(counter)}", serializer=hostile_serializer)
        try:
            stored = task.push_model(model)
        except ValueError as err:
            assert any(why in str(err) for why in ("artifact file name", "twice", "wrote no file")), err
            assert tree_snapshot(root) == before
            record.note("refused")
        else:
            key_dir = root / "artifacts" / stored.artifact_key
            assert sorted(path.name for path in key_dir.iterdir() if path.name != KEY_MARKER) == sorted(set(names))
            record.note("stored inside its key")
        assert _outside(tmp_path, root) == outside_before

    check()
    assert verify(ebnt).problems == []


def _outside(tmp_path: Path, root: Path) -> list[str]:
    """Every path under tmp_path that is not inside the store."""
    return sorted(str(path) for path in tmp_path.rglob("*") if root not in path.parents and path != root)


# Metadata entries pointing outside the store
POINTING_OUTSIDE = [
    ("artifact key climbing out", lambda model: model.update(artifact_key="../../outside")),
    ("absolute artifact key", lambda model: model.update(artifact_key="/tmp")),
    ("file name climbing out", lambda model: model["artifacts"][0].update(name="../../../outside/secret")),
    ("absolute file name", lambda model: model["artifacts"][0].update(name="/etc/passwd")),
]


@pytest.mark.parametrize(("case", "edit"), POINTING_OUTSIDE, ids=[case for case, _ in POINTING_OUTSIDE])
def test_metadata_entries_pointing_outside_the_store(
    case: str, edit: Callable[[dict[str, Any]], object], tmp_path: Path, fault: Callable[..., FaultRecord]
) -> None:
    """A metadata.json whose entries point outside the store: refused with the entry named; nothing outside is
    read, written or deleted, and the store is unchanged (also by ebonite gc)."""
    record = fault("hostile input", f"metadata.json entry: {case}", "local + local")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not yours")
    root = tmp_path / "a" / "b" / "store"
    ebnt = Ebonite.local(root)
    ebnt.get_or_create_task("project", "task").create_and_push_model(ScaleModel(1.0), SAMPLE, "model")
    document = json.loads((root / "metadata.json").read_text())
    edit(next(iter(document["models"].values())))
    (root / "metadata.json").write_text(json.dumps(document))
    before = tree_snapshot(tmp_path)
    fresh = Ebonite.local(root)
    for attempt in (
        lambda: fresh.get_model("model", "task", "project").load(),
        lambda: fresh.delete_project("project", cascade=True),
        lambda: collect_garbage(fresh),
    ):
        with pytest.raises(MetadataCorruptError, match="artifact"):
            attempt()
        record.runs += 1
    assert tree_snapshot(tmp_path) == before


def test_unicode_categories_in_names_are_judged_consistently() -> None:
    """The name rules are the same whatever the backend: every control character is refused, every lone
    surrogate too (UTF-8 cannot encode one, so no backend could store it)."""
    for code in itertools.chain(range(0x20), range(0x7F, 0xA0), range(0xD800, 0xE000, 0x101)):
        char = chr(code)
        assert not _is_valid(f"a{char}b"), (hex(code), unicodedata.category(char))
