"""Where the local store stops being the right choice: push cost, `ebonite ls` and `ebonite show` as the
registry grows, against SQLite holding the same models, moved there with one `ebonite copy`.

For each size (default 10,000 and 20,000 models in one task), a local store (``Ebonite.local``) is filled
with that many models: one real push of a tiny scikit-learn model, whose metadata is then repeated under new
names in one locked change of ``metadata.json`` (every model shares the pushed artifact files; 20,000
separate pushes would take minutes only to fill it). Then, on that store:

- ``push``: the median ms of 20 pushes of the tiny model (create + push, as a user's loop does);
- ``ls``: the seconds of ``ebonite ls PROJECT/TASK`` (a fresh process: opening the store, the first page);
- ``show``: the seconds of ``ebonite show PROJECT/TASK/MODEL`` (a fresh process opening one model).

The smallest store is then moved to SQLite with ``ebonite copy --to sqlite.json`` (timed) and measured the
same way: the baseline, with the figures that say where the local store stops being the right choice.

    .venv/bin/python benchmarks/local_limits.py
    .venv/bin/python benchmarks/local_limits.py --sizes 2000 5000
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from tiny_model import SAMPLE, train_tiny_model

from ebonite_core import Ebonite, LocalMetadataRepository
from ebonite_core.objects import Model

EBONITE = str(Path(sys.executable).with_name("ebonite"))
PUSHES = 20


def fill(store: Path, count: int) -> None:
    """A local store of ``count`` models in ``p/t``, sharing the files of one real push."""
    ebnt = Ebonite.local(store, durable=False)
    task = ebnt.get_or_create_task("p", "t")
    pushed = task.create_and_push_model(train_tiny_model(), SAMPLE, "model-000000")
    repository = ebnt.meta_repo
    assert isinstance(repository, LocalMetadataRepository)
    document = pushed.to_dict()
    with repository.transaction():  # one write of metadata.json for every model, as benchmarks/search.py
        for index in range(1, count):
            repository.create_model(Model.from_dict({**document, "id": None, "name": f"model-{index:06d}"}))
    ebnt.close()


def measure(config: Path, ebnt: Ebonite) -> dict[str, float]:
    """Push cost with ``ebnt``, then ``ls`` and ``show`` as fresh processes on ``config``."""
    model, task = train_tiny_model(), ebnt.get_task("p", "t")
    timings, cpu_timings = [], []
    for index in range(PUSHES):
        started, cpu_started = time.perf_counter(), time.process_time()
        task.create_and_push_model(model, SAMPLE, f"pushed-{time.time_ns()}-{index}")
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu_started)
    figures = {"push_ms": 1000 * statistics.median(timings), "push_cpu_ms": 1000 * statistics.median(cpu_timings)}
    for name, command in (("ls", ["ls", "p/t"]), ("show", ["show", "p/t/model-000001"])):
        before, started = _children_cpu(), time.perf_counter()
        subprocess.run([EBONITE, *command, "--config", str(config)], check=True, capture_output=True)
        figures[f"{name}_s"] = time.perf_counter() - started
        figures[f"{name}_cpu_s"] = _children_cpu() - before
    return figures


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_row(store: str, models: int, figures: dict[str, float]) -> None:
    print(
        f"{store:<24}{models:>8}{figures['push_ms']:>9.1f}{figures['push_cpu_ms']:>6.1f}{figures['ls_s']:>7.2f}"
        f"{figures['ls_cpu_s']:>6.2f}{figures['show_s']:>8.2f}{figures['show_cpu_s']:>6.2f}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000])
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the benchmark's own module belongs to no distribution
    print(f"one task; push: median of {PUSHES} pushes of a tiny model; ls, show: one fresh `ebonite` process each")
    print("each figure: wall time, then CPU time (what it takes on an idle machine; this one is shared)")
    print(f"{'store':<24}{'models':>8}{'push ms':>9}{'CPU':>6}{'ls s':>7}{'CPU':>6}{'show s':>8}{'CPU':>6}")
    with tempfile.TemporaryDirectory(prefix="ebonite-local-limits-") as tmp:
        directory = Path(tmp)
        tempfile.tempdir = tmp  # staging files off a crowded /tmp
        for size in sorted(args.sizes):
            store = directory / f"local-{size}"
            fill(store, size)
            config = directory / f"local-{size}.json"
            config.write_text(
                json.dumps(
                    {
                        "metadata": {"type": "local", "path": str(store / "metadata.json")},
                        "artifact": {"type": "local", "path": str(store / "artifacts")},
                    }
                )
            )
            figures = measure(config, Ebonite.local(store))
            print_row("local", size, figures)
        smallest = min(args.sizes)
        target = directory / "sqlite.json"
        target.write_text(
            json.dumps(
                {
                    "metadata": {"type": "sqlalchemy", "db_uri": f"sqlite:///{directory / 'registry.db'}"},
                    "artifact": {"type": "local", "path": str(directory / "sqlite-artifacts")},
                }
            )
        )
        started = time.perf_counter()
        subprocess.run(
            [EBONITE, "copy", "--to", str(target), "--config", str(directory / f"local-{smallest}.json")],
            check=True,
            capture_output=True,
        )
        moved = time.perf_counter() - started
        sqlite = Ebonite.from_config(target)
        count = sqlite.count_models("p", "t")
        figures = measure(target, sqlite)
        print_row("sqlite (ebonite copy)", count, figures)
        print(f"`ebonite copy --to sqlite.json` moved the {count:,} models of the local store in {moved:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
