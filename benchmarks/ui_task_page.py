"""The web UI's task page over a task of 10,000 models: server time of its first page against the bare search.

For each backend (``local``: metadata.json; ``sqlite``: the sqlalchemy repository), one task is filled with
``--models`` models (the same models as ``search.py``: tags, numeric and text params), a real `ebonite serve`
process serves it on 127.0.0.1, and an HTTP client signed in to the UI with an admin token asks ``--repeat``
times for each view's first page (50 models):

- ``newest``: the default view, newest first;
- ``tag``: filtered by ``stage=production``;
- ``param sort``: ``accuracy >= 0.9``, sorted by accuracy, highest first;
- ``tag sort``: sorted by the value of the tag ``stage`` (the Tags column header's link).

Printed per view: the median server time of the page (its ``Server-Timing`` header: the session, the lookups,
the search, the aliases and the template), the median time the client waited (loopback included), and the
baseline, the median of the same search through ``Ebonite.search_models`` in this process on the same store,
with the ratio page / search. Goal: the first page in under 300 ms of server time. The registry page (every
task's model count, size and last push, which the store aggregates: ``summarize_models``) is timed too, without
a goal; its baseline is what the page did before, reading every model of the task (``get_models``) in this
process.

    .venv/bin/python benchmarks/ui_task_page.py                 # local and sqlite, 10,000 models
    .venv/bin/python benchmarks/ui_task_page.py --models 2000 sqlite
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from search import fill  # the same 10,000 models as the search benchmark
from server_overhead import start_server

from ebonite_core import Ebonite, InMemoryArtifactRepository, LocalMetadataRepository, MetadataRepository

GOAL_MS = 300.0
VIEWS: dict[str, tuple[dict[str, Any], str]] = {  # search arguments, and the same view's query string
    "newest": ({}, ""),
    "tag": ({"tags": {"stage": "production"}}, "tag=stage%3Dproduction"),
    "param sort": (
        {"params": {"accuracy": (">=", 0.9)}, "order_by": "-params.accuracy"},
        "param=accuracy+%3E%3D+0.9&sort=-params.accuracy",
    ),
    "tag sort": ({"order_by": "tags.stage"}, "sort=tags.stage"),
}
PAGE = 50
_TIMING = re.compile(r"page;dur=([\d.]+)")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def registry(kind: str, directory: Path) -> tuple[MetadataRepository, str]:
    """An empty metadata repository of ``kind`` in ``directory``, and the config that names it for the server."""
    if kind == "local":
        metadata = f'[metadata]\ntype = "local"\npath = "{directory}/metadata.json"\n'
        repository: MetadataRepository = LocalMetadataRepository(directory / "metadata.json")
    else:
        from ebonite_sqlalchemy import SQLAlchemyMetaRepository

        uri = f"sqlite:///{directory / 'registry.db'}"
        metadata = f'[metadata]\ntype = "sqlalchemy"\ndb_uri = "{uri}"\n'
        repository = SQLAlchemyMetaRepository(uri)
    return repository, metadata + f'\n[artifact]\ntype = "local"\npath = "{directory}/artifacts"\n'


def signed_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=120)
    csrf = _CSRF.search(client.get("/ui/sign-in").text).group(1)  # type: ignore[union-attr]
    response = client.post("/ui/sign-in", data={"token": token, "csrf": csrf, "next": "/ui/"})
    if response.status_code != 303:
        raise SystemExit(f"signing in failed: {response.status_code} {response.text[:500]}")
    return client


def time_page(client: httpx.Client, path: str, repeat: int) -> tuple[float, float, str]:
    """Median server ms (Server-Timing), median client ms, and the last page's HTML."""
    client.get(path)  # warm up
    server, waited = [], []
    text = ""
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        waited.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}: {response.text[:500]}")
        server.append(float(_TIMING.search(response.headers["server-timing"]).group(1)))  # type: ignore[union-attr]
        text = response.text
    return statistics.median(server), statistics.median(waited) * 1000, text


def time_search(ebnt: Ebonite, task: Any, arguments: dict[str, Any], repeat: int) -> float:
    ebnt.search_models(task=task, limit=PAGE, **arguments)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        ebnt.search_models(task=task, limit=PAGE, **arguments)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def time_read_every_model(repository: MetadataRepository, task: Any, repeat: int) -> float:
    """The registry page's former way to a task's figures: every model read, in ms (median)."""
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        repository.get_models(task)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("backends", nargs="*", default=["local", "sqlite"])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    arguments = parser.parse_args()
    from ebonite_server.state import ServerState, default_state_path

    print(f"{arguments.models} models in one task; first page of {PAGE}; medians of {arguments.repeat} requests")
    header = f"{'backend':<8}{'view':<12}{'rows':>5}{'server ms':>11}{'client ms':>11}{'search ms':>11}"
    print(f"{header}{'page/search':>13}")
    all_met = True
    for kind in arguments.backends:
        with tempfile.TemporaryDirectory(prefix="ebonite-bench-ui-") as name:
            directory = Path(name)
            repository, config_text = registry(kind, directory)
            started = time.perf_counter()
            task = fill(repository, arguments.models)
            print(f"{kind:<8}(filled in {time.perf_counter() - started:.1f} s)")
            config = directory / "registry.toml"
            config.write_text(config_text)
            state = ServerState(default_state_path(config))
            token = state.create_token("*", "admin", "ui benchmark")[0]
            state.close()
            ebnt = Ebonite(repository, InMemoryArtifactRepository())
            process, url = start_server(config)
            try:
                client = signed_in(url, token)
                for view, (search_arguments, query) in VIEWS.items():
                    path = f"/ui/tasks/{task.id}" + (f"?{query}" if query else "")
                    server_ms, client_ms, text = time_page(client, path, arguments.repeat)
                    rows = text.count("<tr data-model-id=")
                    search_ms = time_search(ebnt, task, search_arguments, arguments.repeat)
                    all_met &= server_ms < GOAL_MS
                    print(
                        f"{kind:<8}{view:<12}{rows:>5}{server_ms:>11.1f}{client_ms:>11.1f}{search_ms:>11.1f}"
                        f"{server_ms / search_ms:>12.1f}x"
                    )
                registry_repeat = max(3, arguments.repeat // 5)
                server_ms, client_ms, _ = time_page(client, "/ui/", registry_repeat)
                read_ms = time_read_every_model(repository, task, registry_repeat)
                print(
                    f"{kind:<8}{'registry':<12}{'':>5}{server_ms:>11.1f}{client_ms:>11.1f}{read_ms:>11.1f}"
                    f"{server_ms / read_ms:>12.4f}x  (baseline: reading every model)"
                )
                client.close()
            finally:
                process.terminate()
                process.wait(timeout=60)
                ebnt.close()
    print(f"goal: the first page in under {GOAL_MS:.0f} ms of server time -> {'met' if all_met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
