"""The shipped contracts catch the bugs metadata backend authors make, and say why with the values involved.

Each bug below is planted in a copy of the example metadata backend (examples/ebonite-example-metadata); the
contract suite, run by a separate pytest in a directory of its own as a third-party author runs it, must fail
on every copy with a message naming what it found, and pass on the unchanged copy. That the messages show
values at all is the package's doing (``ebonite_core.testing`` has pytest rewrite the contract's asserts).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples/ebonite-example-metadata/ebonite_example_metadata/jsondir.py"
OVERRIDES = "    # Helpers\n"  # where a planted method goes, in the class
HEADER = "from ebonite_core.errors import NonExistingModelError\nfrom ebonite_core.objects import Model, Project\n"
HEADER += "_cache = {}\n"


@dataclass(frozen=True)
class Bug:
    name: str
    edits: tuple[tuple[str, str], ...]  # (text of the example, what the copy has instead)
    caught_by: tuple[str, ...]  # the contract tests that must fail
    says: tuple[str, ...]  # what their failure messages must contain

    def source(self, example: str) -> str:
        future = "from __future__ import annotations\n"
        example = example.replace(future, future + HEADER)
        for old, new in self.edits:
            assert old in example, f"{self.name}: the example no longer has {old!r}"
            example = example.replace(old, new)
        return example


def _method(code: str) -> tuple[str, str]:
    return OVERRIDES, textwrap.indent(textwrap.dedent(code), "    ") + "\n" + OVERRIDES


BUGS = [
    Bug(
        "no_lock",
        (
            ("self._lock.acquire()", "pass"),
            ("self._lock.release()", "pass"),
        ),
        ("test_concurrent_processes_agree_on_names_and_lose_nothing",),
        ("AssertionError: assert ",),  # which race shows first varies: the lists or counts compared are shown
    ),
    Bug(
        "directory_order",
        (
            _method("""
                def get_projects(self):
                    return [Project.from_dict(record) for record in self.scan("projects")]
            """),
        ),
        ("test_lists_come_in_creation_order",),
        ("'p9' != 'a'",),
    ),
    Bug(
        "aliases_outlive_their_model",
        (
            _method("""
                def delete_model(self, model):
                    with self.transaction():
                        if self.load("models", str(model.id)) is None:
                            raise NonExistingModelError(model.name)
                        self.delete("models", str(model.id))
            """),
        ),
        ("test_deleting_a_model_removes_its_aliases",),
        ("{'champion': '3'}",),
    ),
    Bug(
        "silent_deletes_of_what_is_gone",
        (
            _method("""
                def delete_model(self, model):
                    with self.transaction():
                        if self.load("models", str(model.id)) is not None:
                            self.delete("models", str(model.id))

                def delete_project(self, project):
                    with self.transaction():
                        if self.load("projects", str(project.id)) is not None:
                            self.delete("projects", str(project.id))
            """),
        ),
        ("test_delete_project", "test_delete_model_frees_the_name_and_never_reuses_ids"),
        ("did not raise NonExistingProjectError", "did not raise NonExistingModelError", "'1'"),
    ),
    Bug(
        "alias_across_tasks",
        (
            _method("""
                def set_alias(self, task, alias, model):
                    with self.transaction():
                        record = self.load("tasks", str(task.id))
                        if self.load("models", str(model.id)) is None:
                            raise NonExistingModelError(model.name)
                        self.put("tasks", {**record, "aliases": {**record["aliases"], alias: model.id}})
            """),
        ),
        ("test_aliases_are_scoped_by_task",),
        ("did not raise ValueError", "to model '5' of task '3'"),
    ),
    Bug(
        "argument_mutated",
        (
            _method("""
                def create_model(self, model):
                    stored = super().create_model(model)
                    model.id = stored.id  # "convenient": the caller learns its id
                    return stored
            """),
        ),
        ("test_model_metadata_round_trips",),
        ("'3' is None",),
    ),
    Bug(
        "ids_reused",
        (
            _method("""
                def new_id(self):
                    ids = [int(record["id"]) for kind in ("projects", "tasks", "models") for record in self.scan(kind)]
                    return str(max(ids, default=0) + 1)
            """),
        ),
        ("test_delete_model_frees_the_name_and_never_reuses_ids",),
        ("'3' != '3'",),
    ),
    Bug(
        "tags_replaced",
        (
            _method("""
                def set_model_tags(self, model, tags):
                    with self.transaction():
                        record = {**self.load("models", str(model.id)), "tags": dict(tags)}
                        self.put("models", record)
                    return Model.from_dict(record)
            """),
        ),
        ("test_set_model_tags_adds_and_overwrites",),
        ("'b': 'two'", "'a': '1'"),
    ),
    Bug(
        "task_deleted_with_its_models",
        (
            _method("""
                def delete_task(self, task):
                    with self.transaction():
                        self.delete("tasks", str(task.id))
            """),
        ),
        ("test_task_with_models_is_not_deleted",),
        ("did not raise TaskWithModelsError", "task '2', which has model 'm'"),
    ),
    Bug(
        "stale_cache_across_processes",
        (
            (
                "        try:\n            return self._read(self._path(kind, record_id))",
                "        if (self.root, kind, record_id) in _cache:\n"
                "            return _cache[(self.root, kind, record_id)]\n"
                "        try:\n"
                "            _cache[(self.root, kind, record_id)] = self._read(self._path(kind, record_id))\n"
                "            return _cache[(self.root, kind, record_id)]",
            ),
            (
                "    def put(self, kind: Kind, record: Record) -> None:\n",
                "    def put(self, kind, record):\n        _cache[(self.root, kind, record['id'])] = record\n",
            ),
        ),
        ("test_a_reopened_store_sees_every_change",),
        ("name='model'",),
    ),
    Bug(
        "naive_dates",
        (
            (
                "    def put(self, kind: Kind, record: Record) -> None:\n",
                "    def put(self, kind: Kind, record: Record) -> None:\n"
                "        if 'creation_date' in record:  # stored as local wall-clock time, its zone dropped\n"
                "            date = datetime.fromisoformat(record['creation_date']).replace(tzinfo=None)\n"
                "            record = {**record, 'creation_date': date.isoformat()}\n",
            ),
        ),
        ("test_creation_date_stays_timezone_aware",),
        ("tzinfo=datetime.timezone(datetime.timedelta(seconds=10800))",),
    ),
]

TEST_MODULE = """
import functools

import pytest

from ebonite_core.testing import MetadataRepositoryContract

{imports}

{classes}
"""
TEST_CLASS = """
class Test_{name}(MetadataRepositoryContract):
    @pytest.fixture
    def metadata_repository_factory(self, tmp_path):
        return functools.partial({module}.JsonDirMetadataRepository, tmp_path / "records")
"""


def _failures(report: Path) -> dict[str, dict[str, str]]:
    """``{class name: {test name: failure message ("" when it passed)}}`` from pytest's JUnit XML report: the
    message is the line an author reads first (an assert's, with its values when pytest rewrote it)."""
    found: dict[str, dict[str, str]] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        failure = case.find("failure")
        text = "" if failure is None else failure.get("message", "")
        assert case.find("skipped") is None and case.find("error") is None, ElementTree.tostring(case)
        found.setdefault(case.get("classname", "").rsplit(".", 1)[-1], {})[case.get("name", "")] = text
    return found


def test_the_contracts_catch_every_planted_bug_and_name_the_values(tmp_path: Path) -> None:
    example = EXAMPLE.read_text()
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # a directory of its own: none of this repository's settings
    copies = [Bug("unchanged", (), (), ()), *BUGS]
    for bug in copies:
        (tmp_path / f"copy_{bug.name}.py").write_text(bug.source(example))
    (tmp_path / "test_planted.py").write_text(
        TEST_MODULE.format(
            imports="\n".join(f"import copy_{bug.name}" for bug in copies),
            classes="\n".join(TEST_CLASS.format(name=bug.name, module=f"copy_{bug.name}") for bug in copies),
        )
    )
    every_check = sorted({test for bug in BUGS for test in bug.caught_by})
    selected = [f"test_planted.py::Test_unchanged::{test}" for test in every_check]
    selected += [f"test_planted.py::Test_{bug.name}::{test}" for bug in BUGS for test in bug.caught_by]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=report.xml", *selected],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-3000:]  # 1: some tests failed
    results = _failures(tmp_path / "report.xml")
    assert results["Test_unchanged"] == dict.fromkeys(every_check, ""), "the unchanged example must pass"
    for bug in BUGS:
        outcomes = results[f"Test_{bug.name}"]
        assert set(outcomes) == set(bug.caught_by), bug.name
        uncaught = [test for test, failure in outcomes.items() if not failure]
        assert uncaught == [], f"{bug.name}: the contract missed it in {uncaught}"
        messages = "\n".join(outcomes.values())
        missing = [fragment for fragment in bug.says if fragment not in messages]
        assert missing == [], f"{bug.name}: the failure does not say {missing}:\n{messages[-4000:]}"
