"""Concurrent pushers against PostgreSQL + SeaweedFS (S3): throughput, latency, errors, and where it stops.

For each count of pushers (default 1, 2, 4, 8, 16), that many processes push tiny scikit-learn models
(``create_and_push_model``, as a user's loop does: analysis, pickling, the upload to S3, the metadata
INSERT) into one shared task for ``--seconds`` seconds, each with its own client. Printed per count: pushes
per second (all processes together), p50 and p99 ms per push, errors, and the CPU seconds the pushers, the
PostgreSQL server and SeaweedFS used per push, with the machine's whole use of its cores over the window,
which says where throughput stops growing.

    .venv/bin/python benchmarks/concurrent_push.py
    .venv/bin/python benchmarks/concurrent_push.py --pushers 1 2 4 --seconds 10
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "sqlalchemy"))
sys.path.insert(0, str(ROOT / "tests" / "s3"))
sys.path.insert(0, str(ROOT / "tests"))  # services.py, which the servers' helpers import
from s3_servers import SeaweedFSServer, child_environment  # the tests' servers  # noqa: E402
from sql_servers import start_server  # noqa: E402

BUCKET = "concurrent"
TICKS = os.sysconf("SC_CLK_TCK")


def push_for(
    worker: int, run: int, db_uri: str, endpoint: str, seconds: float, ready: Any, results: Any, measured: Any
) -> None:
    """One pusher: set up, wait at ``ready`` until every pusher and the parent are there, push for
    ``seconds``; put (timings, errors) on ``results``, and stay connected until the parent has read every
    process's CPU time (``measured``)."""
    warnings.simplefilter("ignore")
    from tiny_model import SAMPLE, train_tiny_model

    from ebonite_core import Ebonite

    tempfile.tempdir = tempfile.mkdtemp(prefix="ebonite-push-")  # staging files off a crowded /tmp
    ebnt = Ebonite.custom_client(
        "sqlalchemy",
        "s3",
        meta_kwargs={"db_uri": db_uri},
        artifact_kwargs={"bucket_name": BUCKET, "endpoint": endpoint, "create_bucket": True},
    )
    model = train_tiny_model()
    task = ebnt.get_or_create_task("concurrent", "push")
    timings: list[float] = []
    errors: list[str] = []
    task.create_and_push_model(model, SAMPLE, f"run{run}-worker{worker}-warm-up")  # imports done, connected
    ready.wait()
    deadline = time.time() + seconds
    index = 0
    while time.time() < deadline:
        started = time.perf_counter()
        try:
            task.create_and_push_model(model, SAMPLE, f"run{run}-worker{worker}-{index:06d}")
            timings.append(time.perf_counter() - started)
        except Exception as err:  # counted and reported, never hidden
            errors.append(f"{type(err).__name__}: {err}")
        index += 1
    results.put((timings, errors))
    measured.wait()
    ebnt.close()
    shutil.rmtree(tempfile.tempdir, ignore_errors=True)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their finished children (/proc/PID/stat)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    return total / TICKS


def descendants(pid: int) -> list[int]:
    """``pid`` and every process under it (PostgreSQL forks a backend per connection)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def machine_busy_seconds() -> float:
    """CPU seconds every process of the machine used so far (all cores; /proc/stat, minus idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS


def postgres_pid(server: Any) -> int:
    return int((server.data / "postmaster.pid").read_text().splitlines()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushers", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.update(child_environment())  # the test credentials for boto3, nothing from ~/.aws
    sys.path.insert(0, str(ROOT / "benchmarks"))
    workdir = Path(tempfile.mkdtemp(prefix="ebonite-concurrent-"))
    database = start_server("postgresql")
    storage = SeaweedFSServer(workdir / "seaweedfs")
    try:
        storage.start()
        db_uri = database.create_database("concurrent")
        context = multiprocessing.get_context("spawn")
        print(
            f"PostgreSQL 15 + SeaweedFS, tiny models, one shared task, {args.seconds:.0f} s per run; "
            f"{os.cpu_count()} cores shared by pushers and servers"
        )
        print(
            f"{'pushers':>7}{'pushes':>8}{'per s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7}"
            f"{'CPU ms/push: pushers':>22}{'postgres':>9}{'seaweedfs':>10}{'cores busy':>11}"
        )
        for run, count in enumerate(args.pushers):
            results, measured, ready = context.Queue(), context.Event(), context.Barrier(count + 1)
            workers = [
                context.Process(
                    target=push_for,
                    args=(worker, run, db_uri, storage.endpoint, args.seconds, ready, results, measured),
                )
                for worker in range(count)
            ]
            for worker in workers:
                worker.start()
            ready.wait(timeout=600)  # every pusher has imported, connected and pushed once: the clock starts now
            servers = {"postgres": descendants(postgres_pid(database)), "seaweedfs": [storage.process.pid]}
            before = {name: cpu_seconds(pids) for name, pids in servers.items()}
            pushers_before = cpu_seconds([worker.pid for worker in workers])
            busy_before, wall_before = machine_busy_seconds(), time.perf_counter()
            outcomes = [results.get() for _ in workers]
            busy = (machine_busy_seconds() - busy_before) / (time.perf_counter() - wall_before)
            servers = {"postgres": descendants(postgres_pid(database)), "seaweedfs": [storage.process.pid]}
            used = {name: cpu_seconds(pids) - before[name] for name, pids in servers.items()}
            pushers_used = cpu_seconds([worker.pid for worker in workers]) - pushers_before
            measured.set()
            for worker in workers:
                worker.join()
            timings = [timing for outcome in outcomes for timing in outcome[0]]
            errors = [error for outcome in outcomes for error in outcome[1]]
            pushes = len(timings)
            p99 = statistics.quantiles(timings, n=100, method="inclusive")[98] * 1000 if pushes > 1 else float("nan")
            per_push = {name: 1000 * seconds / max(pushes, 1) for name, seconds in used.items()}
            print(
                f"{count:>7}{pushes:>8}{pushes / args.seconds:>8.1f}{statistics.median(timings) * 1000:>8.1f}"
                f"{p99:>8.1f}{len(errors):>7}{1000 * pushers_used / max(pushes, 1):>22.1f}"
                f"{per_push['postgres']:>9.1f}{per_push['seaweedfs']:>10.1f}{busy:>11.2f}",
                flush=True,
            )
            for error in sorted(set(errors))[:5]:
                print(f"        error: {error}")
    finally:
        storage.stop()
        database.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
