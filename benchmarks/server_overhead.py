"""What serving a registry over HTTP costs: the same local store used directly and through `ebonite serve`.

- ``tiny``: median ms per push and per get + load of a tiny model (``ScaleModel``), directly and through the
  server on loopback (a write token for one project); the difference is the added cost. Goal: under 3 ms.
- ``large``: push and load of a model of ``--size`` MiB (default 1024), directly and through the server, best
  of ``--rounds``; throughput ratio through the server / direct (goal: at least 0.8x) and the server's
  memory growth during the transfers (RSS sampled every 10 ms; goal: under 200 MB); and where a load's time
  goes on each path (fetch, verify, deserialize: see ``load_phases``).
- ``floor``: the least CPU time any push of the large payload through a server needs on this machine, its
  steps timed one by one (see ``push_floor``), and the best ratio to the direct push it allows on this
  machine's cores.

Both paths use the same kind of store (a local store with fsync, the default; one each, in the same
directory); the server is a real `ebonite serve` process on 127.0.0.1.

    .venv/bin/python benchmarks/server_overhead.py --pushes 200 --size 1024
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from ebonite_core import Ebonite, Model
from ebonite_core.model.storage import download_file, verify_file
from ebonite_core.testing import ScaleModel

MiB = 1024 * 1024
PHASES = ("fetch", "verify", "deserialize")
REGISTRY = (
    '[metadata]\ntype = "local"\npath = "{0}/metadata.json"\n\n[artifact]\ntype = "local"\npath = "{0}/artifacts"\n'
)


def start_server(config: Path) -> tuple[subprocess.Popen[bytes], str]:
    log = config.with_suffix(".log")
    command = [sys.executable, "-c", "import sys; from ebonite_core.cli import main; sys.exit(main())"]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*command, "serve", "--config", str(config), "--port", "0"], stdout=output, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"ebonite serve: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if found:
            time.sleep(0.5)
            return process, found.group(1)
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"the server did not start: {log.read_text()}")


def http_client(url: str, token: str) -> Ebonite:
    section = {"url": url, "token": token}
    return Ebonite.custom_client("http", "http", section, section)


def tiny(direct: Ebonite, served: Ebonite, pushes: int) -> dict[str, float]:
    """Pushes, then get + loads, each one directly and one through the server in turn: on a machine shared
    with other work, both paths see the same load (the ratio, not the absolute figures, is what holds)."""
    paths = (("direct", direct), ("server", served))
    tasks = {label: ebnt.get_or_create_task("bench", f"tiny-{label}") for label, ebnt in paths}
    times: dict[str, list[float]] = {f"{label}_{what}": [] for label, _ in paths for what in ("push", "get_load")}
    for index in range(pushes):
        for label, _ in paths:
            started = time.perf_counter()
            tasks[label].create_and_push_model(ScaleModel(float(index)), [1.0], f"m{index}")
            times[f"{label}_push"].append(time.perf_counter() - started)
    for index in range(pushes):
        for label, ebnt in paths:
            started = time.perf_counter()
            ebnt.get_model(f"m{index}", tasks[label]).load()
            times[f"{label}_get_load"].append(time.perf_counter() - started)
    figures = {f"{name}_ms": 1000 * statistics.median(values) for name, values in times.items()}
    figures["added_push_ms"] = figures["server_push_ms"] - figures["direct_push_ms"]
    figures["added_get_load_ms"] = figures["server_get_load_ms"] - figures["direct_get_load_ms"]
    return figures


class PeakMemory:
    """The largest RSS of a process while the context runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.baseline = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()


def load_phases(ebnt: Ebonite, model: Model) -> dict[str, float]:
    """Where a load's time goes, phase by phase, as the client runs them for a pickled model: ``fetch`` (into
    a temporary file, hashed while written; nothing for a store read in place), ``verify`` (a pass over a file
    read in place; nothing after a hashing download) and ``deserialize``."""
    [artifact] = model.artifacts
    assert model.artifact_key is not None
    phases = {}
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        path = ebnt.artifact_repo.local_path(model.artifact_key, artifact.name)
        checked = False
        if path is None:
            path, checked = download_file(ebnt.artifact_repo, model, artifact, Path(directory))
        phases["fetch"] = time.perf_counter() - started
        started = time.perf_counter()
        if not checked:
            verify_file(path, artifact, model.name)
        phases["verify"] = time.perf_counter() - started
        started = time.perf_counter()
        with open(path, "rb") as file:
            loaded = pickle.load(file)
        phases["deserialize"] = time.perf_counter() - started
        del loaded
    return phases


class CpuSeconds:
    """CPU seconds (user + system, all threads) this process and the server used while the context ran."""

    def __init__(self, server: psutil.Process) -> None:
        self.server = server

    def _now(self) -> tuple[float, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return own.ru_utime + own.ru_stime, sum(self.server.cpu_times()[:2])

    def __enter__(self) -> CpuSeconds:
        self._start = self._now()
        return self

    def __exit__(self, *exc_info: object) -> None:
        end = self._now()
        self.client, self.served = round(end[0] - self._start[0], 2), round(end[1] - self._start[1], 2)


def large(direct: Ebonite, served: Ebonite, size_mib: int, rounds: int, server_pid: int) -> dict[str, float]:
    payload = os.urandom(MiB) * size_mib
    best: dict[str, float] = {}
    growth = 0
    for round_ in range(rounds):
        for label, ebnt in (("direct", direct), ("server", served)):
            task = ebnt.get_or_create_task("bench", f"large-{label}")
            with PeakMemory(server_pid) as memory:
                with CpuSeconds(memory.process) as push_cpu:
                    started = time.perf_counter()
                    model = task.create_and_push_model(ScaleModel(1.0, payload), [1.0], f"big{round_}")
                    pushed = time.perf_counter() - started
                with CpuSeconds(memory.process) as load_cpu:
                    started = time.perf_counter()
                    loaded = ebnt.get_model(model.name, task).load()
                    load = time.perf_counter() - started
            assert len(loaded.object.payload) == len(payload)
            for step, seconds, cpu in (("push", pushed, push_cpu), ("load", load, load_cpu)):
                if seconds < best.get(f"{label}_{step}_s", float("inf")):  # the CPU of the round reported
                    best[f"{label}_{step}_cpu_client_s"] = cpu.client
                    best[f"{label}_{step}_cpu_server_s"] = cpu.served
            del loaded
            for phase, seconds in load_phases(ebnt, model).items():
                best[f"{label}_load_{phase}_s"] = min(best.get(f"{label}_load_{phase}_s", float("inf")), seconds)
            ebnt.delete_model(model)
            if label == "server":
                growth = max(growth, memory.peak - memory.baseline)
            best[f"{label}_push_s"] = min(best.get(f"{label}_push_s", float("inf")), pushed)
            best[f"{label}_load_s"] = min(best.get(f"{label}_load_s", float("inf")), load)
    mib = size_mib
    return {
        "size_mib": mib,
        **{key: round(value, 3) for key, value in best.items()},
        "direct_push_mib_s": round(mib / best["direct_push_s"], 1),
        "server_push_mib_s": round(mib / best["server_push_s"], 1),
        "push_ratio": round(best["direct_push_s"] / best["server_push_s"], 2),
        "direct_load_mib_s": round(mib / best["direct_load_s"], 1),
        "server_load_mib_s": round(mib / best["server_load_s"], 1),
        "load_ratio": round(best["direct_load_s"] / best["server_load_s"], 2),
        "server_memory_growth_mb": round(growth / 1e6, 1),
    }


def push_floor(payload: bytes) -> dict[str, float]:
    """CPU seconds of the steps no push of ``payload`` through a server can skip, each timed alone in this
    process: hashing it twice (the client for the manifest, the server to check it before the model becomes
    visible), writing it once into the page cache (the server's store; no fsync) and passing it once over a
    loopback TCP connection (both ends). A client that streamed from the serializer into the socket would
    write no staging file: that step is left out, so the floor holds for any design that keeps both hashes.
    Spread perfectly over the machine's cores, the steps take at least ``floor_s`` of wall time."""
    import hashlib
    import socket

    def cpu(work: Callable[[], object]) -> float:
        started = time.process_time()  # user + system, every thread of this process
        work()
        return time.process_time() - started

    def write() -> None:
        with tempfile.NamedTemporaryFile(dir=os.environ.get("EBONITE_BENCH_DIR")) as file:
            file.write(payload)
            file.flush()

    def transfer() -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        sender = socket.create_connection(listener.getsockname())
        receiver, _ = listener.accept()
        buffer = bytearray(4 * MiB)

        def receive() -> None:
            remaining = len(payload)
            while remaining:
                remaining -= receiver.recv_into(buffer)

        thread = threading.Thread(target=receive)
        thread.start()
        sender.sendall(payload)
        thread.join()
        for each in (sender, receiver, listener):
            each.close()

    steps = {
        "sha256": min(cpu(lambda: hashlib.sha256(payload).digest()) for _ in range(2)),
        "write": min(cpu(write) for _ in range(2)),
        "loopback": min(cpu(transfer) for _ in range(2)),
    }
    total = 2 * steps["sha256"] + steps["write"] + steps["loopback"]
    return {
        **{f"floor_{step}_cpu_s": round(value, 3) for step, value in steps.items()},
        "floor_cpu_s": round(total, 3),
        "floor_s": round(total / (os.cpu_count() or 1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--size", type=int, default=1024, help="MiB of the large model")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("EBONITE_BENCH_DIR")) as directory:
        root = Path(directory)
        config, direct_config = root / "registry.toml", root / "direct.toml"
        config.write_text(REGISTRY.format(root / "store"))
        # Two stores of the same kind: pushes alternate between the paths, and in one store each path's write
        # would make the other re-read the whole metadata file (a local store caches it until it changes).
        direct_config.write_text(REGISTRY.format(root / "direct-store"))
        from ebonite_server.state import ServerState

        token = ServerState(root / "registry.server.sqlite3").create_token("bench", "write", "benchmark")[0]
        process, url = start_server(config)
        try:
            direct, served = Ebonite.from_config(direct_config), http_client(url, token)
            figures = tiny(direct, served, args.pushes)
            print(
                f"tiny model, median of {args.pushes}: push {figures['direct_push_ms']:.2f} ms direct, "
                f"{figures['server_push_ms']:.2f} ms through the server (+{figures['added_push_ms']:.2f} ms); "
                f"get+load {figures['direct_get_load_ms']:.2f} ms direct, {figures['server_get_load_ms']:.2f} ms "
                f"through the server (+{figures['added_get_load_ms']:.2f} ms)"
            )
            big = large(direct, served, args.size, args.rounds, process.pid)
            big.update(push_floor(os.urandom(MiB) * args.size))
            big["floor_ratio"] = round(big["direct_push_s"] / big["floor_s"], 2)
            print(
                f"{args.size} MiB model, best of {args.rounds}: push {big['direct_push_mib_s']} MiB/s direct, "
                f"{big['server_push_mib_s']} MiB/s through the server ({big['push_ratio']}x); load "
                f"{big['direct_load_mib_s']} MiB/s direct, {big['server_load_mib_s']} MiB/s through the server "
                f"({big['load_ratio']}x); server memory growth {big['server_memory_growth_mb']} MB"
            )
            print(
                "CPU seconds of the best round (this process + the server; the machine has "
                f"{os.cpu_count()} cores): "
                + "; ".join(
                    f"{step} {label} {big[f'{label}_{step}_cpu_client_s']} + {big[f'{label}_{step}_cpu_server_s']}"
                    for step in ("push", "load")
                    for label in ("direct", "server")
                )
            )
            print(
                f"the least CPU any push through a server needs here: 2 x sha256 {big['floor_sha256_cpu_s']} + "
                f"write {big['floor_write_cpu_s']} + loopback {big['floor_loopback_cpu_s']} = "
                f"{big['floor_cpu_s']} CPU-s, at best {big['floor_s']} s on {os.cpu_count()} cores: "
                f"{big['floor_ratio']}x the direct push at most"
            )
            print(
                "load phases, best of each (s): "
                + "; ".join(
                    f"{label}: " + ", ".join(f"{phase} {big[f'{label}_load_{phase}_s']}" for phase in PHASES)
                    for label in ("direct", "server")
                )
            )
            print(json.dumps({**figures, **big}))
        finally:
            process.terminate()
            process.wait(30)


if __name__ == "__main__":
    main()
