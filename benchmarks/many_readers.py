"""Four processes get + load + predict models in a loop from one local store while a fifth pushes into it.

Prints the readers' median and 95th-percentile latency alone (the baseline, same run) and while the pusher
works, the pusher's ms per push, and the number of failed reads (the goal: none).

    .venv/bin/python benchmarks/many_readers.py --seconds 10 --models 200
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

READERS = 4


def reader(store: str, names: list[str], seconds: float, results: multiprocessing.Queue) -> None:
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_model import SAMPLE

    from ebonite_core import Ebonite

    ebnt = Ebonite.local(store)
    task = ebnt.get_task("benchmark", "tiny")
    latencies, failures, index = [], 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        try:
            ebnt.get_model(names[index % len(names)], task).predict(SAMPLE)
        except Exception:
            failures += 1
        latencies.append(time.perf_counter() - started)
        index += 1
    results.put((latencies, failures))


def pusher(store: str, seconds: float, results: multiprocessing.Queue) -> None:
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_model import SAMPLE, train_tiny_model

    from ebonite_core import Ebonite

    model = train_tiny_model()
    task = Ebonite.local(store).get_task("benchmark", "tiny")
    timings = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        task.create_and_push_model(model, SAMPLE, f"pushed-{len(timings):05d}")
        timings.append(time.perf_counter() - started)
    results.put(timings)


def run_readers(store: str, names: list[str], seconds: float, with_pusher: bool) -> tuple[list[float], int, list]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    pushes = context.Queue()
    processes = [context.Process(target=reader, args=(store, names, seconds, results)) for _ in range(READERS)]
    if with_pusher:
        processes.append(context.Process(target=pusher, args=(store, seconds, pushes)))
    for process in processes:
        process.start()
    outcomes = [results.get() for _ in range(READERS)]
    push_timings = pushes.get() if with_pusher else []
    for process in processes:
        process.join()
    latencies = [latency for latencies, _ in outcomes for latency in latencies]
    return latencies, sum(failures for _, failures in outcomes), push_timings


def describe(latencies: list[float]) -> str:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"{len(latencies):6d} reads, median {1000 * statistics.median(latencies):6.2f} ms, p95 {1000 * p95:6.2f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--models", type=int, default=200, help="models in the store before the run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_model import SAMPLE, train_tiny_model

    from ebonite_core import Ebonite

    with tempfile.TemporaryDirectory(prefix="ebonite-readers-") as directory:
        store = str(Path(directory) / "store")
        task = Ebonite.local(store).get_or_create_task("benchmark", "tiny")
        model = train_tiny_model()
        names = [f"model-{index:05d}" for index in range(args.models)]
        for name in names:
            task.create_and_push_model(model, SAMPLE, name)
        alone, alone_failures, _ = run_readers(store, names, args.seconds, with_pusher=False)
        busy, busy_failures, pushes = run_readers(store, names, args.seconds, with_pusher=True)
    print(f"{READERS} readers, {args.models} models in the store, {args.seconds:.0f} s each run")
    print(f"readers alone:          {describe(alone)}, {alone_failures} failed")
    print(f"readers while pushing:  {describe(busy)}, {busy_failures} failed")
    print(f"pusher: {len(pushes)} pushes, median {1000 * statistics.median(pushes):.2f} ms per push")


if __name__ == "__main__":
    main()
