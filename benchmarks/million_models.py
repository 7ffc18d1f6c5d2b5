"""A registry of 1,000,000 models on PostgreSQL (or 100,000 on SQLite): build it in minutes, time every query.

``make bench-scale`` runs this (it is not part of ``make bench``). Building:

1. ``--seeds`` real pushes (default 2,000) of a tiny scikit-learn model through the client, into one task, with
   local artifacts; each with tags (``stage``: 60 % candidate, 30 % staging, 10 % production; ``data``: one
   of 12 months; ``team``: one of 5; ``reviewed=yes`` on 0.1 %) and params (``accuracy`` uniform in [0, 1),
   ``learning_rate``, ``kernel``, ``layers``, ``early_stopping``), as ``search.py`` draws them.
2. SQL copies those rows until the task holds ``--models`` models: each copy gets a new name (``<name>~<n>``),
   a later creation date, fresh random params and tags drawn as above, and its rows in the params index; it
   keeps its seed's analysis and artifact key (so every model loads, and several models share one artifact
   folder: this registry must not be garbage-collected model by model). Every constraint holds (unique names,
   foreign keys); the copies are inserted in creation order, as pushes would be.
3. ``VACUUM ANALYZE`` on PostgreSQL (what autovacuum does soon after a bulk load), ``ANALYZE`` on SQLite.

Then each query runs ``--repeat`` times through the client (``Ebonite``), and its p50 and p99 are printed
against the goal: 50 ms for every search (100 models per page), 5 ms for a get by name, by alias and
``latest_model`` (PostgreSQL; on SQLite the goal is 50 ms for all); a task's summary, which adds up every model
of the task (the web UI's registry page), against the UI's page budget, 300 ms.

    .venv/bin/python benchmarks/million_models.py                                 # PostgreSQL, 1,000,000
    .venv/bin/python benchmarks/million_models.py --database sqlite --models 100000
    .venv/bin/python benchmarks/million_models.py --db-uri postgresql+psycopg://...    # fills it once, then measures
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text
from tiny_model import SAMPLE, train_tiny_model

from ebonite_core import Ebonite, LocalArtifactRepository
from ebonite_core.objects import Task
from ebonite_core.query import ModelQuery

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "sqlalchemy"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # services.py, which it imports
from sql_servers import start_server  # the tests' throwaway servers

PROJECT, TASK = "scale", "models"
SEARCH_GOAL_MS = 50.0
GET_GOAL_MS = {"postgresql": 5.0, "sqlite": 50.0}
SUMMARY_GOAL_MS = 300.0  # the web UI's budget for a page (issue 21)
COPIES_PER_STATEMENT = 50
# The setting the plugin's README recommends for a registry's database: a parallel plan's workers cost more
# to start than these searches take, and on a busy server they wait for cores.
POSTGRESQL_OPTIONS = {"connect_args": {"options": "-c max_parallel_workers_per_gather=0"}}


def draw_tags(rng: random.Random) -> dict[str, str]:
    tags = {
        "stage": rng.choices(["candidate", "staging", "production"], weights=[6, 3, 1])[0],
        "data": f"2026-{rng.randint(1, 12):02d}",
        "team": f"team-{rng.randint(1, 5)}",
    }
    if rng.random() < 0.001:
        tags["reviewed"] = "yes"
    return tags


def draw_params(rng: random.Random) -> dict[str, Any]:
    return {
        "accuracy": rng.random(),
        "learning_rate": rng.choice([0.1, 0.01, 0.001]),
        "kernel": rng.choice(["rbf", "linear", "poly"]),
        "layers": rng.randint(1, 8),
        "early_stopping": rng.random() < 0.5,
    }


# The SQL that copies the seed models, per database. ``:first``/``:last`` number the copies of this statement,
# ``:seed_last`` is the last seed id, ``:span`` the seconds between a seed and its first copy.
COPY_MODELS = {
    "postgresql": """
        INSERT INTO ebonite_models (task_id, name, author, creation_date, artifact_key, data, params, artifact_size)
        SELECT s.task_id, s.name || '~' || g, s.author, s.creation_date + make_interval(secs => g * :span),
               s.artifact_key, s.data,
               json_build_object(
                   'accuracy', random(),
                   'learning_rate', (ARRAY[0.1, 0.01, 0.001])[1 + floor(random() * 3)::int],
                   'kernel', (ARRAY['rbf', 'linear', 'poly'])[1 + floor(random() * 3)::int],
                   'layers', 1 + floor(random() * 8)::int,
                   'early_stopping', random() < 0.5),
               s.artifact_size
        FROM ebonite_models AS s, generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
        WHERE s.id <= :seed_last
        ORDER BY g, s.id
    """,
    "sqlite": """
        WITH RECURSIVE g(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM g WHERE n < :last)
        INSERT INTO ebonite_models (task_id, name, author, creation_date, artifact_key, data, params, artifact_size)
        SELECT s.task_id, s.name || '~' || g.n, s.author,
               strftime('%Y-%m-%d %H:%M:%S', s.creation_date, '+' || (g.n * :span) || ' seconds')
                   || substr(s.creation_date, 20),
               s.artifact_key, s.data,
               json_object(
                   'accuracy', (abs(random()) % 1000000000) / 1e9,
                   'learning_rate', json_extract('[0.1, 0.01, 0.001]', '$[' || (abs(random()) % 3) || ']'),
                   'kernel', json_extract('["rbf", "linear", "poly"]', '$[' || (abs(random()) % 3) || ']'),
                   'layers', 1 + abs(random()) % 8,
                   'early_stopping', json(CASE WHEN random() < 0 THEN 'true' ELSE 'false' END)),
               s.artifact_size
        FROM ebonite_models AS s, g
        WHERE s.id <= :seed_last
        ORDER BY g.n, s.id
    """,
}
RANDOM = {"postgresql": "random()", "sqlite": "((abs(random()) % 1000000000) / 1e9)"}
MONTH = {
    "postgresql": "lpad((1 + floor(random() * 12))::int::text, 2, '0')",
    "sqlite": "printf('%02d', 1 + abs(random()) % 12)",
}
TEAM = {"postgresql": "(1 + floor(random() * 5))::int::text", "sqlite": "(1 + abs(random()) % 5)"}


def tag_statements(dialect: str) -> list[str]:
    """Tags of the models above ``:before``, drawn like :func:`draw_tags`, with the model's task and creation
    date (as the repository writes them)."""
    r = RANDOM[dialect]
    stage = "CASE WHEN r < 0.6 THEN 'candidate' WHEN r < 0.9 THEN 'staging' ELSE 'production' END"
    insert = "INSERT INTO ebonite_model_tags (model_id, key, value, task_id, creation_date)"
    return [
        f"{insert} SELECT id, 'stage', {stage}, task_id, creation_date "
        f"FROM (SELECT id, task_id, creation_date, {r} AS r FROM ebonite_models WHERE id > :before) AS drawn",
        f"{insert} SELECT id, 'data', '2026-' || {MONTH[dialect]}, task_id, creation_date "
        "FROM ebonite_models WHERE id > :before",
        f"{insert} SELECT id, 'team', 'team-' || {TEAM[dialect]}, task_id, creation_date "
        "FROM ebonite_models WHERE id > :before",
        f"{insert} SELECT id, 'reviewed', 'yes', task_id, creation_date "
        f"FROM ebonite_models WHERE id > :before AND {r} < 0.001",
    ]


# The params index rows of the models above ``:before`` (what the repository writes on each push).
PARAM_ROWS = {
    "postgresql": """
        INSERT INTO ebonite_model_params (model_id, key, number, text)
        SELECT m.id, p.key,
               CASE WHEN json_typeof(p.value) = 'number' THEN (p.value #>> '{}')::double precision END,
               CASE WHEN json_typeof(p.value) = 'string' THEN left(p.value #>> '{}', 255) END
        FROM ebonite_models AS m, json_each(m.params) AS p
        WHERE m.id > :before AND json_typeof(p.value) IN ('number', 'string')
    """,
    "sqlite": """
        INSERT INTO ebonite_model_params (model_id, key, number, text)
        SELECT m.id, p.key, CASE WHEN p.type IN ('integer', 'real') THEN p.value END,
               CASE WHEN p.type = 'text' THEN substr(p.value, 1, 255) END
        FROM ebonite_models AS m, json_each(m.params) AS p
        WHERE m.id > :before AND p.type IN ('integer', 'real', 'text')
    """,
}


def push_seeds(ebnt: Ebonite, count: int) -> Task:
    rng = random.Random(18)
    model = train_tiny_model()
    task = ebnt.get_or_create_task(PROJECT, TASK)
    for index in range(count):
        task.create_and_push_model(model, SAMPLE, f"model-{index:06d}", params=draw_params(rng), tags=draw_tags(rng))
    return task


def copy_rows(connection: Connection, dialect: str, total: int) -> None:
    """Copy the seed models until the registry holds ``total`` models, with their tags and params index."""
    seed_last, seeds = connection.execute(text("SELECT max(id), count(*) FROM ebonite_models")).one()
    if (
        "~"
        in connection.execute(text("SELECT name FROM ebonite_models WHERE id = :id"), {"id": seed_last}).scalar_one()
    ):
        raise SystemExit("This database holds copies already, but fewer models than asked: start from an empty one.")
    first, last = connection.execute(text("SELECT min(creation_date), max(creation_date) FROM ebonite_models")).one()
    if isinstance(first, str):  # SQLite keeps text
        from datetime import datetime

        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
    span = int((last - first).total_seconds()) + 1
    copies = total // seeds - 1
    for start in range(1, copies + 1, COPIES_PER_STATEMENT):
        end = min(copies, start + COPIES_PER_STATEMENT - 1)
        started = time.perf_counter()
        before = connection.execute(text("SELECT max(id) FROM ebonite_models")).scalar_one()
        arguments = {"first": start, "last": end, "seed_last": seed_last, "span": span, "before": before}
        connection.execute(text(COPY_MODELS[dialect]), arguments)
        for statement in [*tag_statements(dialect), PARAM_ROWS[dialect]]:
            connection.execute(text(statement), {"before": before})
        connection.commit()
        print(f"  copies {start}-{end} of {copies}: {(end + 1) * seeds} models ({time.perf_counter() - started:.1f} s)")


def percentile_ms(timings: list[float], percent: int) -> float:
    if len(timings) < 2:  # --repeat 1: quantiles need two points
        return 1000 * timings[0]
    return 1000 * statistics.quantiles(timings, n=100, method="inclusive")[percent - 1]


def timed(call: Callable[[], Any], repeat: int, cpu_clock: Callable[[], int]) -> tuple[list[float], list[float], Any]:
    """Wall seconds and CPU seconds (this process and the database server's) of each of ``repeat`` calls."""
    result = call()  # warm up: compiled statements, caches
    walls, cpus = [], []
    for _ in range(repeat):
        cpu_before, started = cpu_clock(), time.perf_counter()
        result = call()
        walls.append(time.perf_counter() - started)
        cpus.append((cpu_clock() - cpu_before) / 1e9)
    return walls, cpus, result


def cpu_clock(engine: Any) -> Callable[[], int]:
    """Nanoseconds of CPU used so far by this process and, for a PostgreSQL server on this machine, by the
    server process of this client's connection (``/proc/PID/schedstat``, in ns; the benchmark's connections
    run no parallel workers, see :data:`POSTGRESQL_OPTIONS`). On a shared machine the wall time of a query
    also counts the time it waited for a core; its CPU time is what it costs on an idle one."""
    if engine.dialect.name != "postgresql":
        return time.process_time_ns
    with engine.connect() as connection:  # the pool hands this same connection to every later call
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    try:
        postmaster = int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:  # not on this machine
        return time.process_time_ns
    if postmaster <= 1:
        return time.process_time_ns

    def clock() -> int:
        try:
            return time.process_time_ns() + int(Path(f"/proc/{backend}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return time.process_time_ns()

    return clock


def queries(ebnt: Ebonite, task: Task, names: list[str]) -> dict[str, Callable[[], Any]]:
    """Every query the API offers, as a user calls it: name -> a call that runs it once."""
    rng = random.Random(5)

    def search(**arguments: Any) -> Callable[[], Any]:
        return lambda: ebnt.search_models(task=task, **arguments)

    def page(number: int, **arguments: Any) -> Callable[[], Any]:
        """The ``number``-th page (from 1): its token is found once, then the page is fetched each time."""
        token = None
        for _ in range(number - 1):
            token = ebnt.search_models(task=task, page_token=token, **arguments).next_page_token
        return lambda: ebnt.search_models(task=task, page_token=token, **arguments)

    newest = ebnt.search_models(task=task, limit=1)[0].creation_date
    accuracy = {"accuracy": (">=", 0.9)}
    calls: dict[str, Callable[[], Any]] = {
        "get_model by name": lambda: ebnt.get_model(rng.choice(names), task),
        "get_model_by_alias": lambda: ebnt.get_model_by_alias(task, "champion"),
        "latest_model": lambda: ebnt.latest_model(task),
        "newest 100": search(),
        "oldest 100": search(order_by="creation_date"),
        "by name": search(order_by="name"),
        "by -name": search(order_by="-name"),
        "tag stage=production": search(tags={"stage": "production"}),
        "tags stage + data": search(tags={"stage": "production", "data": "2026-03"}),
        "tags stage + data + team": search(tags={"stage": "production", "data": "2026-03", "team": "team-2"}),
        "rare tag reviewed=yes (0.1 %)": search(tags={"reviewed": "yes"}),
        "accuracy >= 0.9": search(params=accuracy),
        "accuracy > 0.999 (0.1 %)": search(params={"accuracy": (">", 0.999)}),
        "accuracy < 0.1": search(params={"accuracy": ("<", 0.1)}),
        "accuracy <= 0.1": search(params={"accuracy": ("<=", 0.1)}),
        "layers == 3": search(params={"layers": 3}),
        "layers != 3": search(params={"layers": ("!=", 3)}),
        "kernel == rbf": search(params={"kernel": "rbf"}),
        "kernel != rbf": search(params={"kernel": ("!=", "rbf")}),
        "accuracy >= 0.9 by -accuracy": search(params=accuracy, order_by="-params.accuracy"),
        "by params.accuracy": search(order_by="params.accuracy"),
        "by -params.accuracy": search(order_by="-params.accuracy"),
        "by -params.layers (ties)": search(order_by="-params.layers"),
        "production, accuracy >= 0.9, by -accuracy": search(
            tags={"stage": "production"}, params=accuracy, order_by="-params.accuracy"
        ),
        "rare tag by -accuracy": search(tags={"reviewed": "yes"}, order_by="-params.accuracy"),
        "kernel == rbf by -accuracy": search(params={"kernel": "rbf"}, order_by="-params.accuracy"),
        "created in the last hour": search(created_after=newest.replace(microsecond=0) - _hours(1)),
        "created before the first day": search(created_before=newest - _hours(24 * 365)),
        "page 2, newest": page(2),
        "page 50, newest": page(50),
        "page 20, by -accuracy": page(20, order_by="-params.accuracy"),
        "page 20, tag production": page(20, tags={"stage": "production"}),
        "project: newest 100": lambda: ebnt.search_models(project=PROJECT),
        "project: by -accuracy": lambda: ebnt.search_models(project=PROJECT, order_by="-params.accuracy"),
        "registry: tag production by name": lambda: ebnt.search_models(tags={"stage": "production"}, order_by="name"),
        # The orders of the web UI's columns (revision 0005), and its registry page's summary of a task.
        "by author": search(order_by="author"),
        "by -text_params.kernel": search(order_by="-text_params.kernel"),
        "by tags.stage": search(order_by="tags.stage"),
        "page 20, by -tags.data": page(20, order_by="-tags.data"),
        "task summary (count, size, last push)": lambda: ebnt.meta_repo.summarize_models(
            ModelQuery.create(task_id=task.id)
        ),
    }
    return calls


EBONITE = str(Path(sys.executable).with_name("ebonite"))
# The commands that walk a registry, each with how long it may run before it is stopped (a walk of a million
# models takes minutes: what matters here is that it starts at once and its memory stays flat).
COMMANDS: list[tuple[list[str], float]] = [
    (["ls"], 60),
    (["ls", f"{PROJECT}/{TASK}"], 60),
    (["ls", f"{PROJECT}/{TASK}", "--all"], 60),
    (["verify", f"{PROJECT}/{TASK}"], 60),
    (["gc", "--dry-run"], 900),
    (["copy", "--to", "{target}", f"{PROJECT}/{TASK}"], 60),
]


def run_command(command: list[str], limit: float) -> dict[str, Any]:
    """Run ``ebonite COMMAND`` with stdout on a pipe and stderr on a terminal (where it says what it walks),
    until it exits or ``limit`` seconds pass; sample its memory every 0.2 s."""
    import os
    import pty
    import select
    import subprocess

    controller, terminal = pty.openpty()
    started = time.perf_counter()
    process = subprocess.Popen([EBONITE, *command], stdout=subprocess.PIPE, stderr=terminal)
    os.close(terminal)
    first_output = first_cpu = None
    lines = 0
    peak_rss = rss_at_10s = 0.0
    streams = {process.stdout.fileno(): "stdout", controller: "stderr"}  # type: ignore[union-attr]
    while streams and time.perf_counter() - started < limit:
        ready, _, _ = select.select(list(streams), [], [], 0.2)
        for descriptor in ready:
            try:
                chunk = os.read(descriptor, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                del streams[descriptor]
                continue
            if first_output is None:
                first_output = time.perf_counter() - started
                first_cpu = _cpu_seconds(process.pid)
            if streams[descriptor] == "stdout":
                lines += chunk.count(b"\n")
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
        except OSError:
            break
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak_rss = int(line.split()[1]) / 1024
        if time.perf_counter() - started < 10:
            rss_at_10s = peak_rss
    try:
        process.wait(timeout=1 if streams else 30)  # both streams closed: it is exiting
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait()
    finished = not streams
    os.close(controller)
    return {
        "first_output_s": first_output,
        "first_output_cpu_s": first_cpu,
        "seconds": time.perf_counter() - started,
        "finished": finished and process.returncode in (0, 1),
        "lines": lines,
        "peak_rss_mib": peak_rss,
        "rss_10s_mib": rss_at_10s,
    }


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used (/proc/PID/stat): on a shared machine, the wall time to
    the first output also counts the time spent waiting for a core."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_commands(url: str, artifacts: Path, directory: Path) -> None:
    import json
    import os

    config = directory / "registry.json"
    meta = {"type": "sqlalchemy", "db_uri": url, **(POSTGRESQL_OPTIONS if url.startswith("postgresql") else {})}
    config.write_text(json.dumps({"metadata": meta, "artifact": {"type": "local", "path": str(artifacts)}}))
    target = directory / "copy-target.json"
    target_db = f"sqlite:///{directory / 'copy-target.db'}"
    target_meta = {"type": "sqlalchemy", "db_uri": target_db}
    target.write_text(
        json.dumps({"metadata": target_meta, "artifact": {"type": "local", "path": str(directory / "copy-art")}})
    )
    os.environ["EBONITE_CONFIG"] = str(config)
    print("\n`ebonite` commands on this registry (stopped after the time limit; memory: peak RSS)")
    print(
        f"{'command':<34}{'first output s (CPU s)':>23}{'ran s':>7}{'done':>6}{'lines':>9}"
        f"{'RSS MiB at 10 s':>17}{'peak':>7}"
    )
    for command, limit in COMMANDS:
        command = [part.replace("{target}", str(target)) for part in command]
        result = run_command(command, limit)
        first = (
            f"{result['first_output_s']:.2f} ({result['first_output_cpu_s']:.2f})"
            if result["first_output_s"] is not None
            else "-"
        )
        print(
            f"{' '.join(command).replace(str(target), 'sqlite.json'):<34}{first:>23}{result['seconds']:>7.0f}"
            f"{'yes' if result['finished'] else 'no':>6}{result['lines']:>9}{result['rss_10s_mib']:>17.0f}"
            f"{result['peak_rss_mib']:>7.0f}",
            flush=True,
        )


def _hours(count: int) -> Any:
    from datetime import timedelta

    return timedelta(hours=count)


@contextmanager
def database(kind: str, db_uri: str | None, directory: Path) -> Iterator[str]:
    if db_uri:
        yield db_uri
    elif kind == "sqlite":
        yield f"sqlite:///{directory / 'registry.db'}"
    else:
        server = start_server("postgresql")
        try:
            yield server.create_database("scale")
        finally:
            server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--db-uri", help="a database to fill and measure: empty, or filled by this script before")
    parser.add_argument("--models", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--artifacts", help="the artifact folder (default: a temporary one)")
    parser.add_argument("--no-commands", action="store_true", help="skip timing the ebonite commands")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the benchmark's own module belongs to no distribution
    with (
        tempfile.TemporaryDirectory(prefix="ebonite-scale-") as tmp,
        database(args.database, args.db_uri, Path(tmp)) as url,
    ):
        tempfile.tempdir = tmp  # keep staging files off a crowded /tmp
        artifacts = LocalArtifactRepository(args.artifacts or Path(tmp) / "artifacts")
        options = POSTGRESQL_OPTIONS if url.startswith("postgresql") else {}
        ebnt = Ebonite.custom_client("sqlalchemy", artifacts, meta_kwargs={"db_uri": url, **options})
        engine = ebnt.meta_repo.engine  # type: ignore[attr-defined]
        dialect = engine.dialect.name
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM ebonite_models")).scalar_one()
        if count == 0:
            started = time.perf_counter()
            push_seeds(ebnt, args.seeds)
            pushed = time.perf_counter() - started
            print(f"{args.seeds} pushes through the client: {pushed:.1f} s ({1000 * pushed / args.seeds:.1f} ms each)")
        if count < args.models:
            started = time.perf_counter()
            with engine.connect() as connection:
                copy_rows(connection, dialect, args.models)
            copied = time.perf_counter() - started
            started = time.perf_counter()
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
            print(f"copied in {copied:.0f} s, analysed in {time.perf_counter() - started:.0f} s")
        task = ebnt.get_task(PROJECT, TASK)
        with engine.connect() as connection:
            count = connection.execute(text("SELECT count(*) FROM ebonite_models")).scalar_one()
            names = list(
                connection.execute(text("SELECT name FROM ebonite_models ORDER BY random() LIMIT 1000")).scalars()
            )
        champion = ebnt.get_model(names[0], task)
        ebnt.set_alias(task, "champion", champion)
        print(f"{count:,} models in one task on {dialect}; {args.repeat} calls of each query through the client")
        print(
            "wall: as measured on this shared machine; CPU: this process's and the database server's, the time the "
            "query takes on an idle machine (the verdict is on the CPU p99 when the wall p99 misses)"
        )
        print(f"{'query':<44}{'found':>6}{'wall p50':>9}{'p99':>8}{'CPU p50':>9}{'p99':>8}{'goal':>6}  verdict")
        clock = cpu_clock(engine)
        # Python's full garbage collection walks every object of the process (numpy, pandas and scikit-learn
        # are imported here): unfrozen, it adds about 100 ms to one call in fifty, whatever the query. A
        # long-running service freezes what it built at start-up the same way.
        gc.collect()
        gc.freeze()
        print(f"gc.freeze() after set-up: {gc.get_freeze_count():,} objects left out of garbage collection")
        failed = []
        for name, call in queries(ebnt, task, names).items():
            walls, cpus, result = timed(call, args.repeat, clock)
            goal = (
                GET_GOAL_MS[dialect]
                if name.startswith(("get", "latest"))
                else SUMMARY_GOAL_MS
                if name.startswith("task summary")
                else SEARCH_GOAL_MS
            )
            found = len(result) if isinstance(result, list) else int(result is not None)
            wall99, cpu99 = percentile_ms(walls, 99), percentile_ms(cpus, 99)
            verdict = "met" if wall99 < goal else "met on CPU" if cpu99 < goal else "NOT met"
            if verdict == "NOT met":
                failed.append(name)
            print(
                f"{name:<44}{found:>6}{percentile_ms(walls, 50):>9.2f}{wall99:>8.2f}{percentile_ms(cpus, 50):>9.2f}"
                f"{cpu99:>8.2f}{goal:>6.0f}  {verdict}",
                flush=True,
            )
        print("every p99 under its goal" if not failed else f"NOT met: {', '.join(failed)}")
        ebnt.close()
        if not args.no_commands:
            measure_commands(url, artifacts.root, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
