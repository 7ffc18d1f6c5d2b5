"""The aliases part of the MetadataRepository contract: a name of a task pointing at one of its models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ..errors import NonExistingModelError
from ..interfaces import MetadataRepository
from ..objects import Task
from .capabilities import requires
from .checks import refused
from .fixtures import MetadataFixtures
from .models import make_model
from .processes import run_together


def _move_alias(worker: int, ready: Callable[[], Any], factory: Any, task_id: str, model_ids: list[str]) -> dict:
    """One process of the alias test: point the alias at each model in turn, and read it between moves."""
    repo = factory()
    task = repo.get_task_by_id(task_id)
    models = [repo.get_model_by_id(model_id) for model_id in model_ids]
    ready()
    dangling = 0
    for round_ in range(15):
        repo.set_alias(task, "champion", models[(worker + round_) % len(models)])
        if repo.get_model_by_alias(task, "champion") is None:
            dangling += 1
    repo.close()
    return {"dangling": dangling}


class AliasesContract(MetadataFixtures):
    """Aliases, as every metadata repository keeps them (part of :class:`MetadataRepositoryContract`)."""

    def test_aliases_point_at_one_model_and_move(self, repo: MetadataRepository, task: Task) -> None:
        first = repo.create_model(make_model("first", task.id))
        second = repo.create_model(make_model("second", task.id))
        assert repo.get_model_by_alias(task, "champion") is None and repo.get_aliases(task) == {}
        repo.set_alias(task, "champion", first)
        repo.set_alias(task, "challenger", second)
        assert repo.get_model_by_alias(task, "champion") == first
        repo.set_alias(task, "champion", second)
        assert repo.get_model_by_alias(task, "champion") == second
        assert repo.get_aliases(task) == {"champion": second.id, "challenger": second.id}
        repo.delete_alias(task, "challenger")
        repo.delete_alias(task, "never-set")
        assert repo.get_aliases(task) == {"champion": second.id}

    def test_aliases_are_scoped_by_task(self, repo: MetadataRepository, task: Task) -> None:
        other = repo.create_task(Task("other", project_id=task.project_id))
        mine = repo.create_model(make_model("model", task.id))
        theirs = repo.create_model(make_model("model", other.id))
        repo.set_alias(task, "champion", mine)
        repo.set_alias(other, "champion", theirs)
        assert repo.get_model_by_alias(task, "champion") == mine
        assert repo.get_model_by_alias(other, "champion") == theirs
        with refused(ValueError, f"set_alias() in task {task.id!r} to model {theirs.id!r} of task {other.id!r}"):
            repo.set_alias(task, "champion", theirs)
        assert repo.get_model_by_alias(task, "champion") == mine

    def test_deleting_a_model_removes_its_aliases(self, repo: MetadataRepository, task: Task) -> None:
        model = repo.create_model(make_model("model", task.id))
        kept = repo.create_model(make_model("kept", task.id))
        repo.set_alias(task, "champion", model)
        repo.set_alias(task, "stable", kept)
        repo.delete_model(model)
        assert repo.get_model_by_alias(task, "champion") is None
        assert repo.get_aliases(task) == {"stable": kept.id}
        with refused(NonExistingModelError, f"set_alias() to model {model.id!r}, deleted"):
            repo.set_alias(task, "champion", model)

    # Capabilities
    @requires("supports_concurrent_processes")
    def test_processes_moving_one_alias_never_leave_it_dangling(
        self, repo: MetadataRepository, task: Task, request: pytest.FixtureRequest
    ) -> None:
        factory = request.getfixturevalue("metadata_repository_factory")
        models = [repo.create_model(make_model(f"m{index}", task.id)) for index in range(3)]
        repo.set_alias(task, "champion", models[0])
        count = 3
        outcomes = run_together(_move_alias, count, factory, task.id, [model.id for model in models])
        assert [outcome["dangling"] for outcome in outcomes] == [0] * count
        assert repo.get_model_by_alias(task, "champion") in models
        assert list(repo.get_aliases(task)) == ["champion"]
