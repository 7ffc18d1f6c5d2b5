"""Push 10,000 tiny models into one task with the ``sqlalchemy`` metadata repository; is per-push cost flat?

For each database, two runs on fresh databases, each printing the milliseconds per push over the first and
the last 1,000 pushes (median and mean) and their ratio; the goal is last / first <= 1.5, i.e. a push does
not slow down as the task fills up:

- ``client push``: ``Ebonite.push_model`` of a tiny model with in-memory artifacts (the client's checks,
  pickling and staging files, and the SQL round trips);
- ``metadata only``: the two calls a push makes on the metadata repository (``get_model_by_name``, then
  ``create_model``), which isolates the SQL side from the client's file-system work.

The verdict uses the medians, which a stall caused by another process on a shared machine barely moves;
the means are printed too.

    .venv/bin/python benchmarks/sql_push.py                        # SQLite file, PostgreSQL, MariaDB
    .venv/bin/python benchmarks/sql_push.py --pushes 2000 sqlite   # a quicker run

PostgreSQL and MariaDB are throwaway servers started like the tests' (see ../shared/SERVICES.md), unless
``EBONITE_BENCH_POSTGRESQL_URL`` / ``EBONITE_BENCH_MARIADB_URL`` name a server database to use instead
(it must be empty, and is used for both runs: the second run then starts with the first one's models).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ebonite_core import Ebonite, InMemoryArtifactRepository, create_model
from ebonite_core.testing import ScaleModel, make_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sqlalchemy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # services.py, which it imports
from sql_servers import ServerUnavailable, start_server  # the tests' server helpers

WINDOW = 1000
SAMPLE = [1.0, 2.0, 3.0]


@contextmanager
def databases(kind: str) -> Iterator[Callable[[], str]]:
    """A factory of URLs of new, empty databases of ``kind``, on a throwaway server unless one is given."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ebonite-bench-") as directory:
            names = itertools.count(1)
            yield lambda: f"sqlite:///{Path(directory) / f'registry-{next(names)}.db'}"
        return
    given = os.environ.get(f"EBONITE_BENCH_{kind.upper()}_URL")
    if given:
        yield lambda: given
        return
    server = start_server(kind)
    try:
        yield lambda: server.create_database("bench")
    finally:
        server.stop()


def client_pushes(db_uri: str, pushes: int) -> list[float]:
    """Seconds taken by each ``push_model``, in order."""
    from ebonite_sqlalchemy import SQLAlchemyMetaRepository

    # The client stages each push's files in a temporary directory; keep those out of a shared, crowded
    # /tmp, whose directory operations other processes on the machine slow down.
    private_tmp = tempfile.TemporaryDirectory(prefix="ebonite-bench-staging-")
    tempfile.tempdir = private_tmp.name
    ebnt = Ebonite(SQLAlchemyMetaRepository(db_uri), InMemoryArtifactRepository())
    try:
        task = ebnt.get_or_create_task("benchmark", "client-push")
        timings = []
        for index in range(pushes):
            model = create_model(ScaleModel(float(index)), SAMPLE, f"model-{index:05d}")  # analysis: not timed
            started = time.perf_counter()
            ebnt.push_model(model, task)
            timings.append(time.perf_counter() - started)
        assert len(ebnt.get_models(task)) == pushes
        return timings
    finally:
        ebnt.close()
        tempfile.tempdir = None
        private_tmp.cleanup()


def metadata_pushes(db_uri: str, pushes: int) -> list[float]:
    """Seconds taken by the metadata side of each push (name check, then insert), in order."""
    from ebonite_sqlalchemy import SQLAlchemyMetaRepository

    repository = SQLAlchemyMetaRepository(db_uri)
    try:
        task = repository.get_or_create_task(repository.get_or_create_project("benchmark"), "metadata-only")
        timings = []
        for index in range(pushes):
            model = make_model(f"model-{index:05d}", task.id, artifact_key=uuid.uuid4().hex)
            started = time.perf_counter()
            assert repository.get_model_by_name(task, model.name) is None
            repository.create_model(model)
            timings.append(time.perf_counter() - started)
        assert len(repository.get_models(task)) == pushes
        return timings
    finally:
        repository.close()


RUNS: dict[str, Callable[[str, int], list[float]]] = {"client push": client_pushes, "metadata only": metadata_pushes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backends", nargs="*", default=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--pushes", type=int, default=10_000)
    arguments = parser.parse_args()
    window = min(WINDOW, arguments.pushes // 2)
    print(f"{arguments.pushes} pushes of a tiny model into one task; ms per push, first and last {window} pushes")
    columns = ("median first", 14), ("last", 8), ("ratio", 8), ("mean first", 12), ("last", 8), ("ratio", 8)
    header = "".join(f"{title:>{width}}" for title, width in columns)
    print(f"{'database':<12}{'run':<15}{header}{'total s':>9}")
    worst = 0.0
    for kind in arguments.backends:
        try:
            with databases(kind) as new_database:
                for run_name, run in RUNS.items():
                    timings = run(new_database(), arguments.pushes)
                    first, last = timings[:window], timings[-window:]
                    median_first, median_last = statistics.median(first) * 1000, statistics.median(last) * 1000
                    mean_first, mean_last = statistics.fmean(first) * 1000, statistics.fmean(last) * 1000
                    worst = max(worst, median_last / median_first)
                    print(
                        f"{kind:<12}{run_name:<15}{median_first:>14.3f}{median_last:>8.3f}"
                        f"{median_last / median_first:>8.2f}{mean_first:>12.3f}{mean_last:>8.3f}"
                        f"{mean_last / mean_first:>8.2f}{sum(timings):>9.1f}",
                        flush=True,
                    )
        except ServerUnavailable as err:
            print(f"{kind:<12}unavailable: {err}")
    print(f"goal: median last/first <= 1.5 -> {'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
