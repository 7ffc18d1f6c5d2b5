"""Throughput and memory of FsspecArtifactRepository against plain fsspec, per protocol, in the same run.

    python benchmarks/fsspec_transfer.py [--size-mib 256] [--rounds 3] [--protocols ftp,sftp,webdav,azure,file]

For each protocol it starts the tests' server as a subprocess on 127.0.0.1 (pyftpdlib, an asyncssh SFTP
server, wsgidav on cheroot, Azurite; ``file://`` is the local disk), writes one file of ``--size-mib`` MiB,
and in each round pushes and downloads it

- through the repository (``push`` then ``download``: a private directory and a rename, or a conditional
  write, plus the key's marker file),
- through plain fsspec ``put_file`` / ``get_file`` on a file system of the same class, with the same
  arguments, to the same server,

alternating which goes first. It prints each one's throughput and the ratios repository / plain fsspec of
the best and of the median rounds (goal: at least 0.9). Peak memory is measured in fresh
processes that push and download the file once, through the repository and through plain fsspec, each
against its own baseline after imports and connection (VmHWM; goal: under 150 MB above). An unmeasured
round trip warms each server up first.

It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fsspec
from ebonite_fsspec.repository import FsspecArtifactRepository

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fsspec"))
from fsspec_servers import PASSWORD, SERVERS, USER, Server, ServerUnavailable  # the tests' servers

MiB = 1024 * 1024
REGISTRY_NAMES = {"ftp": "ftp", "sftp": "sftp", "webdav": "webdav", "azure": "abfs", "file": "file"}


def peak_rss_mib() -> float:
    """VmHWM, the peak RSS of this process image (ru_maxrss would start from the parent's, across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_file(path: Path, size: int) -> None:
    with open(path, "wb") as file:  # random data in small blocks: nothing compresses it, little memory
        remaining = size
        while remaining:
            remaining -= file.write(os.urandom(min(remaining, 4 * MiB)))


def start(protocol: str, workdir: Path) -> tuple[Server | None, str, dict[str, Any]]:
    """The server of ``protocol`` (None for file://), a URL and storage options for a store on it."""
    if protocol == "file":
        return None, (workdir / "file-store").as_uri(), {}
    kind = "azurite" if protocol == "azure" else protocol
    server = SERVERS[kind](workdir / kind)
    server.start()
    if protocol == "ftp":
        return server, f"ftp://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{server.port}/bench", {}
    if protocol == "sftp":
        options = {"password": PASSWORD, "known_hosts": str(server.workdir / "known_hosts")}
        return server, f"sftp://{USER}@127.0.0.1:{server.port}/bench", options
    if protocol == "webdav":
        return server, f"webdav+http://{USER}@127.0.0.1:{server.port}/bench", {"password": PASSWORD}
    connection = server.connection_string  # type: ignore[attr-defined]
    from adlfs import AzureBlobFileSystem

    AzureBlobFileSystem(connection_string=connection, skip_instance_cache=True).mkdir("bench")
    return server, "abfs://bench/store", {"connection_string": connection}


class Plain:
    """Plain fsspec: a file system of the same class and arguments as the repository's, put_file/get_file."""

    def __init__(self, protocol: str, repository: FsspecArtifactRepository) -> None:
        arguments, root = repository.protocol.arguments(repository.url, repository.storage_options)
        self.fs = fsspec.filesystem(REGISTRY_NAMES[protocol], skip_instance_cache=True, **arguments)
        self.root = f"{root}-plain"

    def push(self, key: str, source: Path) -> None:
        self.fs.makedirs(f"{self.root}/{key}", exist_ok=True)
        self.fs.put_file(str(source), f"{self.root}/{key}/model.bin")

    def download(self, key: str, target: Path) -> None:
        self.fs.get_file(f"{self.root}/{key}/model.bin", str(target))

    def delete(self, key: str) -> None:
        self.fs.rm(f"{self.root}/{key}", recursive=True)


def measure(protocol: str, url: str, options: dict[str, Any], source: Path, rounds: int) -> list[str]:
    size = source.stat().st_size
    repository = FsspecArtifactRepository(url, options)
    plain = Plain(protocol, repository)
    repository.keys()  # connects
    lines = []
    for who in ("repository", "plain fsspec"):
        report = memory_of(who, protocol, url, options, source)
        lines.append(
            f"  peak RSS, {who:<12} baseline {report['baseline']:6.1f} MiB, peak {report['peak']:6.1f} MiB: "
            f"+{report['peak'] - report['baseline']:.1f} MiB (goal < 150 MB)"
        )
    plain.push("warm-up", source)  # the first transfers into a fresh server are slower
    plain.download("warm-up", source.with_name("warm-up.bin"))
    plain.delete("warm-up")
    source.with_name("warm-up.bin").unlink()
    up: dict[str, list[float]] = {"repository": [], "plain fsspec": []}
    down: dict[str, list[float]] = {"repository": [], "plain fsspec": []}
    target = source.with_name("downloaded.bin")
    for round_number in range(rounds):
        order = ["repository", "plain fsspec"][:: 1 if round_number % 2 == 0 else -1]
        for who in order:
            key = f"round{round_number}"
            started = time.perf_counter()
            if who == "repository":
                repository.push(key, {"model.bin": source})
            else:
                plain.push(key, source)
            up[who].append(size / MiB / (time.perf_counter() - started))
            started = time.perf_counter()
            if who == "repository":
                repository.download(key, "model.bin", target)
            else:
                plain.download(key, target)
            down[who].append(size / MiB / (time.perf_counter() - started))
            if target.stat().st_size != size:
                raise SystemExit(f"{protocol} {who}: the download has the wrong size")
            target.unlink()
            repository.delete(key) if who == "repository" else plain.delete(key)
        lines.append(
            f"  round {round_number + 1}: "
            + "   ".join(f"{who} up {up[who][-1]:6.1f} MiB/s down {down[who][-1]:6.1f} MiB/s" for who in up)
        )
    ratios = []
    for label, figures in (("push", up), ("load", down)):
        best = max(figures["repository"]) / max(figures["plain fsspec"])
        median = statistics.median(figures["repository"]) / statistics.median(figures["plain fsspec"])
        ratios.append(f"{label} {best:.2f} (median {median:.2f})")
    lines.append("  repository / plain fsspec (goal >= 0.9), best rounds: " + "   ".join(ratios))
    repository.close()
    return lines


def measure_memory(who: str, protocol: str, url: str, options_json: str, file: str) -> None:
    """In a process of its own: push and download ``file`` once, print the peak RSS above the baseline."""
    repository = FsspecArtifactRepository(url, json.loads(options_json))
    plain = Plain(protocol, repository)
    repository.keys()
    plain.fs.ls(str(Path(plain.root).parent)) if protocol != "file" else None
    target = Path(file).with_name(f"memory-{who.replace(' ', '-')}.bin")
    baseline = peak_rss_mib()
    if who == "repository":
        repository.push("memory", {"model.bin": Path(file)})
        repository.download("memory", "model.bin", target)
        repository.delete("memory")
    else:
        plain.push("memory", Path(file))
        plain.download("memory", target)
        plain.delete("memory")
    target.unlink()
    print(json.dumps({"baseline": baseline, "peak": peak_rss_mib()}))


def memory_of(who: str, protocol: str, url: str, options: dict[str, Any], source: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure-memory", who, protocol, url, json.dumps(options), str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--protocols", default="ftp,sftp,webdav,azure,file")
    parser.add_argument("--measure-memory", nargs=5, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure_memory:
        measure_memory(*options.measure_memory)
        return
    workdir = Path(tempfile.mkdtemp(prefix="ebonite-fsspec-bench-"))
    source = workdir / "artifact.bin"
    write_file(source, options.size_mib * MiB)
    print(f"file {options.size_mib} MiB, {options.rounds} rounds per protocol; servers are separate processes")
    try:
        for protocol in options.protocols.split(","):
            try:
                server, url, storage_options = start(protocol, workdir)
            except ServerUnavailable as err:
                print(f"{protocol}: server did not start ({err})")
                continue
            try:
                print(f"{protocol} ({FsspecArtifactRepository(url, storage_options).where}):", flush=True)
                for line in measure(protocol, url, storage_options, source, options.rounds):
                    print(line, flush=True)
            finally:
                if server is not None:
                    server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
