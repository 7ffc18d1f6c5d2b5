"""Search latency over 10,000 models in one task: by tag, by a numeric param, and the newest 100.

Each backend gets one task of ``--models`` models with varied tags (``stage``: 60 % candidate, 30 % staging,
10 % production; ``data``: one of 12 months; ``team``: one of 5) and params (``accuracy`` uniform in [0, 1),
so that about 10 % are >= 0.9; a learning rate; a kernel name; a layer count; a boolean), created one second
apart. Then each query runs ``--repeat`` times through the client (``Ebonite.search_models``, metadata only,
default order newest first, 100 per page) and the median is printed against the goal: under 20 ms for SQL,
under 100 ms for local.

``sqlite-without-index`` is the baseline for revision 0003's index on ``(task_id, creation_date, id)``: the
same SQLite database with that index dropped after the fill. On PostgreSQL and MariaDB the fill is followed
by ``ANALYZE``, as their background statistics would soon do: right after 10,000 inserts PostgreSQL's planner
still believes the task has a dozen rows, and sorts all of them rather than walking the index (SQLite keeps
no statistics unless asked, and gets none).

    .venv/bin/python benchmarks/search.py              # local, SQLite without the index, SQLite; 10,000 models
    .venv/bin/python benchmarks/search.py sqlite postgresql mariadb    # throwaway servers, as the tests start
    .venv/bin/python benchmarks/search.py --models 2000 sqlite

Filling: the SQL backends get their models through ``create_model``, one transaction each, as pushes would.
The local backend gets them in one ``transaction()`` (one locked write of its file): 10,000 separate
creates would rewrite a growing ``metadata.json`` 10,000 times, which is the fill's cost, not the search's.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ebonite_core import Ebonite, InMemoryArtifactRepository, LocalMetadataRepository, MetadataRepository
from ebonite_core.objects import Model, Project, Task
from ebonite_core.testing import make_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sqlalchemy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # services.py, which it imports
from sql_servers import ServerUnavailable, start_server  # the tests' server helpers

GOALS_MS = {"local": 100.0}  # every SQL database: 20 ms
SQL_GOAL_MS = 20.0
# What runs after the fill, per backend (see the module docstring).
SETTLE = {
    "sqlite-without-index": "DROP INDEX ix_ebonite_models_task_id_creation_date_id",
    "postgresql": "ANALYZE",
    "mariadb": "ANALYZE TABLE ebonite_models, ebonite_model_tags",
}
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
QUERIES: dict[str, dict[str, Any]] = {
    "by tag stage=production": {"tags": {"stage": "production"}},
    "by param accuracy >= 0.9": {"params": {"accuracy": (">=", 0.9)}},
    "newest 100": {},
}


def model_specs(count: int, task_id: str) -> Iterator[Model]:
    """``count`` models' metadata, the same for every backend (fixed seed)."""
    rng = random.Random(8)
    for index in range(count):
        stage = rng.choices(["candidate", "staging", "production"], weights=[6, 3, 1])[0]
        yield make_model(
            f"model-{index:05d}",
            task_id,
            creation_date=START + timedelta(seconds=index),
            tags={"stage": stage, "data": f"2026-{rng.randint(1, 12):02d}", "team": f"team-{rng.randint(1, 5)}"},
            params={
                "accuracy": rng.random(),
                "learning_rate": rng.choice([0.1, 0.01, 0.001]),
                "kernel": rng.choice(["rbf", "linear", "poly"]),
                "layers": rng.randint(1, 8),
                "early_stopping": rng.random() < 0.5,
            },
        )


def fill(repository: MetadataRepository, count: int) -> Task:
    project = repository.create_project(Project("benchmark"))
    task = repository.create_task(Task("search", project_id=project.id))
    assert task.id is not None
    if isinstance(repository, LocalMetadataRepository):
        with repository.transaction():  # one write of the file for every model, not one per model
            for model in model_specs(count, task.id):
                repository.create_model(model)
    else:
        for model in model_specs(count, task.id):
            repository.create_model(model)
    return task


@contextmanager
def repositories(kind: str) -> Iterator[Callable[[], MetadataRepository]]:
    """A factory of new, empty repositories of ``kind``."""
    if kind == "local":
        with tempfile.TemporaryDirectory(prefix="ebonite-bench-") as directory:
            yield lambda: LocalMetadataRepository(Path(directory) / "metadata.json")
        return
    from ebonite_sqlalchemy import SQLAlchemyMetaRepository

    if kind in ("sqlite", "sqlite-without-index"):
        with tempfile.TemporaryDirectory(prefix="ebonite-bench-") as directory:
            yield lambda: SQLAlchemyMetaRepository(f"sqlite:///{Path(directory) / 'registry.db'}")
        return
    server = start_server(kind)
    try:
        yield lambda: SQLAlchemyMetaRepository(server.create_database("bench"))
    finally:
        server.stop()


def measure(ebnt: Ebonite, task: Task, arguments: dict[str, Any], repeat: int) -> tuple[float, int]:
    """Median milliseconds of ``search_models(task=task, **arguments)``, and how many models a page had."""
    page = ebnt.search_models(task=task, **arguments)  # warm up: caches, compiled statements
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        page = ebnt.search_models(task=task, **arguments)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, len(page)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backends", nargs="*", default=["local", "sqlite-without-index", "sqlite"])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    arguments = parser.parse_args()
    print(f"{arguments.models} models in one task; median ms per search_models call ({arguments.repeat} runs)")
    print(f"{'backend':<22}{'query':<28}{'models':>7}{'median ms':>11}{'goal ms':>9}  verdict")
    all_met = True
    for kind in arguments.backends:
        try:
            with repositories(kind) as new_repository:
                repository = new_repository()
                started = time.perf_counter()
                task = fill(repository, arguments.models)
                print(f"{kind:<22}(filled in {time.perf_counter() - started:.1f} s)")
                if kind in SETTLE:
                    with repository.engine.begin() as connection:  # type: ignore[attr-defined]
                        connection.exec_driver_sql(SETTLE[kind])
                ebnt = Ebonite(repository, InMemoryArtifactRepository())
                goal = GOALS_MS.get(kind, SQL_GOAL_MS)
                for name, query in QUERIES.items():
                    median, found = measure(ebnt, task, query, arguments.repeat)
                    met = median < goal
                    all_met &= met or kind == "sqlite-without-index"  # the baseline need not meet the goal
                    print(f"{kind:<22}{name:<28}{found:>7}{median:>11.2f}{goal:>9.0f}  {'met' if met else 'NOT met'}")
                ebnt.close()
        except ServerUnavailable as err:
            print(f"{kind:<22}unavailable: {err}")
    verdict = "all met" if all_met else "NOT all met"
    print(f"goals (the baseline apart): SQL < {SQL_GOAL_MS:.0f} ms, local < {GOALS_MS['local']:.0f} ms -> {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
