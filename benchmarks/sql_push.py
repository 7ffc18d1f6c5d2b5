"""Push 10,000 tiny models into one task with the ``sqlalchemy`` metadata repository; is per-push cost flat?

Prints, for each database, the milliseconds per push over the first and the last 1,000 pushes (median and
mean) and their ratio; the goal is last / first <= 1.5: a push must not slow down as the task fills up. The
verdict uses the medians, which a stall caused by another process on a shared machine barely moves; the
means are printed too. Artifacts are kept in memory so that the figures are about the metadata path
(the client's checks and the SQL round trips).

    .venv/bin/python benchmarks/sql_push.py                        # SQLite file, PostgreSQL, MariaDB
    .venv/bin/python benchmarks/sql_push.py --pushes 2000 sqlite   # a quicker run

PostgreSQL and MariaDB are throwaway servers started like the tests' (see ../shared/SERVICES.md), unless
``EBONITE_BENCH_POSTGRESQL_URL`` / ``EBONITE_BENCH_MARIADB_URL`` name an empty database to use instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ebonite_core import Ebonite, InMemoryArtifactRepository, create_model
from ebonite_core.testing import ScaleModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sqlalchemy"))
from sql_servers import ServerUnavailable, start_server  # the tests' server helpers

WINDOW = 1000


@contextmanager
def database(kind: str) -> Iterator[str]:
    """The URL of an empty database of ``kind``; a throwaway server unless the environment names one."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ebonite-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'registry.db'}"
        return
    given = os.environ.get(f"EBONITE_BENCH_{kind.upper()}_URL")
    if given:
        yield given
        return
    server = start_server(kind)
    try:
        yield server.create_database("bench")
    finally:
        server.stop()


def run(db_uri: str, pushes: int) -> list[float]:
    """Seconds taken by each push, in order."""
    from ebonite_sqlalchemy import SQLAlchemyMetaRepository

    # The client stages each push's files in a temporary directory; keep those out of a shared, crowded
    # /tmp, whose directory operations other processes on the machine slow down.
    private_tmp = tempfile.TemporaryDirectory(prefix="ebonite-bench-staging-")
    tempfile.tempdir = private_tmp.name

    ebnt = Ebonite(SQLAlchemyMetaRepository(db_uri), InMemoryArtifactRepository())
    try:
        task = ebnt.get_or_create_task("benchmark", "many-models")
        sample = [1.0, 2.0, 3.0]
        timings = []
        for index in range(pushes):
            model = create_model(ScaleModel(float(index)), sample, f"model-{index:05d}")  # analysis: not timed
            started = time.perf_counter()
            ebnt.push_model(model, task)
            timings.append(time.perf_counter() - started)
        assert len(ebnt.get_models(task)) == pushes
        return timings
    finally:
        ebnt.close()
        tempfile.tempdir = None
        private_tmp.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backends", nargs="*", default=["sqlite", "postgresql", "mariadb"])
    parser.add_argument("--pushes", type=int, default=10_000)
    arguments = parser.parse_args()
    window = min(WINDOW, arguments.pushes // 2)
    print(f"{arguments.pushes} pushes of a tiny model into one task; ms per push, first and last {window} pushes")
    columns = ("median first", 14), ("last", 8), ("ratio", 8), ("mean first", 13), ("last", 8), ("ratio", 8)
    print(f"{'database':<12}" + "".join(f"{title:>{width}}" for title, width in columns) + f"{'total s':>9}")
    worst = 0.0
    for kind in arguments.backends:
        try:
            with database(kind) as db_uri:
                timings = run(db_uri, arguments.pushes)
        except ServerUnavailable as err:
            print(f"{kind:<12}unavailable: {err}")
            continue
        first, last = timings[:window], timings[-window:]
        median_first, median_last = statistics.median(first) * 1000, statistics.median(last) * 1000
        mean_first, mean_last = statistics.fmean(first) * 1000, statistics.fmean(last) * 1000
        worst = max(worst, median_last / median_first)
        print(
            f"{kind:<12}{median_first:>14.3f}{median_last:>8.3f}{median_last / median_first:>8.2f}"
            f"{mean_first:>13.3f}{mean_last:>8.3f}{mean_last / mean_first:>8.2f}{sum(timings):>9.1f}"
        )
    print(f"goal: median last/first <= 1.5 -> {'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
