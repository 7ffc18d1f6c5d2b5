"""The search part of the MetadataRepository contract: filters, order and keyset pages of ``search_models``
(the rules themselves are :mod:`ebonite_core.query`'s)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ..interfaces import MetadataRepository
from ..objects import Model, Project, Task
from ..query import ModelQuery, ModelSummary
from .fixtures import MetadataFixtures
from .models import make_model

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _search(repo: MetadataRepository, **arguments: Any) -> list[str]:
    return [model.name for model in repo.search_models(ModelQuery.create(**arguments))]


class SearchContract(MetadataFixtures):
    """Search, as every metadata repository answers it (part of :class:`MetadataRepositoryContract`)."""

    @pytest.fixture
    def dated_models(self, repo: MetadataRepository, task: Task) -> dict[str, Model]:
        """Six models a minute apart: m0 the oldest; tags, params, authors and names to filter and sort on."""
        specs = [
            ("m0", "carol", {"stage": "candidate", "data": "2026-10"}, {"accuracy": 0.70, "kernel": "rbf"}),
            ("m1", "alice", {"stage": "candidate", "data": "2026-11"}, {"accuracy": 0.91, "kernel": "linear"}),
            ("m2", None, {"stage": "production", "data": "2026-11"}, {"accuracy": 0.95, "kernel": "rbf"}),
            ("m3", "bob", {"data": "2026-11"}, {"accuracy": "n/a"}),
            ("m4", "alice", {}, {"accuracy": 0.85, "flag": True, "kernel": 2}),
            ("m5", "bob", {"stage": "candidate"}, {"accuracy": 0.91, "layers": 3}),
        ]
        return {
            name: repo.create_model(
                make_model(
                    name,
                    task.id,
                    author=author,
                    tags=tags,
                    params=params,
                    creation_date=START + timedelta(minutes=index),
                )
            )
            for index, (name, author, tags, params) in enumerate(specs)
        }

    def test_search_orders_newest_first_by_default(self, repo: MetadataRepository, dated_models: dict) -> None:
        assert _search(repo) == ["m5", "m4", "m3", "m2", "m1", "m0"]
        assert _search(repo, order_by="creation_date", limit=2) == ["m0", "m1"]

    def test_search_by_task_and_project(self, repo: MetadataRepository, task: Task, dated_models: dict) -> None:
        other_project = repo.create_project(Project("other project"))
        elsewhere = repo.create_task(Task("task", project_id=other_project.id))
        repo.create_model(make_model("m0", elsewhere.id, creation_date=START + timedelta(hours=1)))
        assert _search(repo, task_id=task.id) == ["m5", "m4", "m3", "m2", "m1", "m0"]
        assert _search(repo, task_id=elsewhere.id) == ["m0"]
        assert _search(repo, project_id=other_project.id) == ["m0"]
        assert len(_search(repo, project_id=task.project_id)) == 6
        assert len(_search(repo)) == 7

    def test_search_by_tags(self, repo: MetadataRepository, dated_models: dict) -> None:
        assert _search(repo, tags={"stage": "candidate"}) == ["m5", "m1", "m0"]
        assert _search(repo, tags={"stage": "candidate", "data": "2026-11"}) == ["m1"]
        assert _search(repo, tags={"stage": "retired"}) == []

    def test_search_by_params(self, repo: MetadataRepository, dated_models: dict) -> None:
        assert _search(repo, params={"accuracy": (">=", 0.9)}) == ["m5", "m2", "m1"]
        assert _search(repo, params={"accuracy": (">", 0.91)}) == ["m2"]
        assert _search(repo, params={"accuracy": ("<", 0.9)}) == ["m4", "m0"]
        assert _search(repo, params={"accuracy": ("==", 0.91)}) == ["m5", "m1"]
        assert _search(repo, params={"accuracy": ("!=", 0.91)}) == ["m4", "m2", "m0"], "numbers match numbers only"
        assert _search(repo, params={"kernel": "rbf"}) == ["m2", "m0"]
        assert _search(repo, params={"kernel": "rbf", "accuracy": ("<=", 0.9)}) == ["m0"]
        assert _search(repo, params={"accuracy": "n/a"}) == ["m3"]
        assert _search(repo, params={"layers": 3}) == ["m5"]
        assert _search(repo, params={"layers": 3.0}) == ["m5"]
        assert _search(repo, params={"flag": ("==", 1)}) == [], "a boolean is not the number 1"
        assert _search(repo, params={"missing": (">", 0)}) == []

    def test_search_by_creation_date(self, repo: MetadataRepository, dated_models: dict) -> None:
        after, before = START + timedelta(minutes=1), START + timedelta(minutes=4)
        assert _search(repo, created_after=after) == ["m5", "m4", "m3", "m2"]
        assert _search(repo, created_before=before) == ["m3", "m2", "m1", "m0"]
        assert _search(repo, created_after=after, created_before=before) == ["m3", "m2"]

    def test_search_orders_by_name_and_by_a_numeric_param(self, repo: MetadataRepository, dated_models: dict) -> None:
        assert _search(repo, order_by="name") == ["m0", "m1", "m2", "m3", "m4", "m5"]
        assert _search(repo, order_by="-name", limit=1) == ["m5"]
        by_accuracy = _search(repo, order_by="-params.accuracy")
        assert by_accuracy[0] == "m2" and sorted(by_accuracy[1:3]) == ["m1", "m5"] and by_accuracy[3:] == ["m4", "m0"]
        assert _search(repo, order_by="params.accuracy", limit=1) == ["m0"]

    def test_search_orders_by_author_text_params_and_tags(self, repo: MetadataRepository, dated_models: dict) -> None:
        """Each lists only the models that have a value of its kind (m2 has no author, m4's kernel is a number);
        ties are broken by id in the order's direction."""
        assert _search(repo, order_by="author") == ["m1", "m4", "m3", "m5", "m0"]
        assert _search(repo, order_by="-author") == ["m0", "m5", "m3", "m4", "m1"]
        assert _search(repo, order_by="text_params.kernel") == ["m1", "m0", "m2"]
        assert _search(repo, order_by="-text_params.kernel") == ["m2", "m0", "m1"]
        assert _search(repo, order_by="text_params.accuracy") == ["m3"]
        assert _search(repo, order_by="tags.stage") == ["m0", "m1", "m5", "m2"]
        assert _search(repo, order_by="-tags.stage") == ["m2", "m5", "m1", "m0"]
        assert _search(repo, order_by="-tags.data", tags={"stage": "candidate"}) == ["m1", "m0"]
        assert _search(repo, order_by="tags.stage", params={"kernel": "rbf"}) == ["m0", "m2"]
        assert _search(repo, order_by="tags.missing") == []

    def test_search_pages_through_ties_in_every_order(self, repo: MetadataRepository, dated_models: dict) -> None:
        """One model per page, so that every tie is split by a page token: the pages list what one search does."""
        for order_by in ("-author", "author", "text_params.kernel", "tags.stage", "-tags.stage", "-params.accuracy"):
            seen: list[str] = []
            token: str | None = None
            while True:
                page = repo.search_models(ModelQuery.create(order_by=order_by, limit=1, page_token=token))
                seen += [model.name for model in page]
                token = page.next_page_token
                if token is None:
                    break
            assert seen == _search(repo, order_by=order_by), order_by

    def test_search_pages_are_stable_while_models_are_added(
        self, repo: MetadataRepository, task: Task, dated_models: dict
    ) -> None:
        sort_keys = {
            "-creation_date": lambda model: -model.creation_date.timestamp(),
            "name": lambda model: model.name,
            "-params.accuracy": lambda model: -model.params["accuracy"],
        }
        for order_by, sort_key in sort_keys.items():
            first = repo.search_models(ModelQuery.create(order_by=order_by, limit=2))
            assert len(first) == 2 and first.next_page_token is not None
            seen = list(first)
            new = make_model(f"new{order_by}", task.id, creation_date=START + timedelta(days=1), params={"accuracy": 1})
            repo.create_model(new)  # newest, most accurate: sorts before the first page, or after "m5" by name
            token = first.next_page_token
            while token is not None:
                page = repo.search_models(ModelQuery.create(order_by=order_by, limit=2, page_token=token))
                seen += page
                token = page.next_page_token
            names = [model.name for model in seen]
            assert len(names) == len(set(names)), f"{order_by}: a model was listed twice: {names}"
            assert [sort_key(model) for model in seen] == sorted(sort_key(model) for model in seen), order_by
            expected = {name for name in dated_models if not (order_by == "-params.accuracy" and name == "m3")}
            assert expected <= set(names), f"{order_by}: a model was skipped: {names}"

    @pytest.mark.parametrize(
        ("order_by", "value"),
        [("creation_date", 12), ("creation_date", "noon"), ("name", 12), ("params.x", "1"), ("tags.x", 1)],
    )
    def test_a_forged_page_token_is_a_value_error(
        self, repo: MetadataRepository, task: Task, order_by: str, value: Any
    ) -> None:
        repo.create_model(make_model("model", task.id, params={"x": 1}))
        token = ModelQuery.create(order_by=order_by).encode_token(value, "1")
        with pytest.raises(ValueError, match="page token"):
            repo.search_models(ModelQuery.create(order_by=order_by, page_token=token))

    def test_summarize_models_counts_sizes_and_finds_the_newest(
        self, repo: MetadataRepository, task: Task, dated_models: dict
    ) -> None:
        """What the web UI's registry page shows per task, with the search's filters (order aside)."""
        size = sum(artifact.size for artifact in dated_models["m0"].artifacts)
        assert size > 0
        newest = START + timedelta(minutes=5)
        assert repo.summarize_models(ModelQuery.create(task_id=task.id)) == ModelSummary(6, 6 * size, newest)
        assert repo.summarize_models(ModelQuery.create(project_id=task.project_id)) == ModelSummary(6, 6 * size, newest)
        candidates = ModelQuery.create(task_id=task.id, tags={"stage": "candidate"}, order_by="name", limit=1)
        assert repo.summarize_models(candidates) == ModelSummary(3, 3 * size, newest)
        empty = repo.create_task(Task("empty", project_id=task.project_id))
        assert repo.summarize_models(ModelQuery.create(task_id=empty.id)) == ModelSummary(0, 0, None)

    def test_search_returns_metadata_copies(self, repo: MetadataRepository, dated_models: dict) -> None:
        [newest] = repo.search_models(ModelQuery.create(limit=1))
        assert newest == dated_models["m5"]
        newest.tags["stage"] = "changed"
        assert repo.get_model_by_id(newest.id).tags == {"stage": "candidate"}

    def test_the_last_page_has_no_token(self, repo: MetadataRepository, dated_models: dict) -> None:
        page = repo.search_models(ModelQuery.create(limit=6))
        assert len(page) == 6 and page.next_page_token is None
        assert repo.search_models(ModelQuery.create(tags={"none": "x"})) == []
