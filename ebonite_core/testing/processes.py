"""Running one function in several fresh processes at once, for the contract suites' concurrency tests."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

Work = Callable[..., dict[str, Any]]
"""``work(worker, ready, *args)``: sets up, calls ``ready()`` to start with the others, returns its outcome."""


def _run_one(work: Work, barrier: Any, results: Any, worker: int, args: tuple[Any, ...]) -> None:
    try:
        results.put({**work(worker, barrier.wait, *args), "worker": worker})
    except BaseException as err:  # report it: a silent death would hang the parent
        results.put({"worker": worker, "error": f"{type(err).__name__}: {err}"})


def run_together(work: Work, count: int, *args: Any) -> list[dict[str, Any]]:
    """Run ``work`` in ``count`` spawned processes that start their real work at one moment (a barrier).

    ``work`` and ``args`` must be picklable (a module-level function and, for instance, a repository
    factory). Returns the outcomes in worker order, after asserting that no worker raised.
    """
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(count), context.Queue()
    processes = [
        context.Process(target=_run_one, args=(work, barrier, results, worker, args)) for worker in range(count)
    ]
    for process in processes:
        process.start()
    outcomes = sorted((results.get(timeout=300) for _ in processes), key=lambda outcome: outcome["worker"])
    for process in processes:
        process.join()
    errors = [outcome["error"] for outcome in outcomes if "error" in outcome]
    assert errors == [], f"workers failed: {errors}"
    return outcomes
