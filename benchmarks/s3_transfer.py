"""Throughput and memory of S3ArtifactRepository against plain boto3, measured in the same run.

    python benchmarks/s3_transfer.py [--size-mib 1024] [--part-size-mib 16] [--concurrency 8] [--rounds 4]
                                     [--download-rounds 2] [--server moto|seaweedfs] [--client]

Starts an S3 server as a subprocess on 127.0.0.1 (moto's by default; SeaweedFS, a faster server written in
Go, with ``--server seaweedfs``), writes one file of ``--size-mib`` MiB, and then, in each round, pushes it
(and, in the first ``--download-rounds`` rounds, downloads it: moto serves a 1 GiB object's ranges slowly)

- through the repository, with its default ``checksum_algorithm="CRC32"`` (what boto3 sends by default),
- through the repository with ``checksum_algorithm="SHA256"``,
- through plain boto3 ``upload_file`` / ``download_file`` with the repository's very TransferConfig.

An unmeasured round trip warms the server up first (the first transfers into a fresh server are slower);
the order of the contenders is reversed every other round. It prints the throughput of each and the
ratios repository / boto3 of the best and of the median rounds (goal: at least 0.9). Peak memory
(``ru_maxrss``) is measured in fresh processes that push and download the file once, through the
repository and through plain boto3, against each one's baseline after imports (goal: under 150 MB above).

``--client`` also pushes and loads a model holding ``--size-mib`` MiB through the whole client
(``Ebonite.custom_client("local", "s3", ...)``): throughput only, since the model object itself is in memory.

It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from ebonite_s3.repository import S3ArtifactRepository

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "s3"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # services.py, which it imports
from s3_servers import MotoServer, SeaweedFSServer, ServerUnavailable, child_environment  # the tests' servers

MiB = 1024 * 1024
BUCKET = "bench"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def high_water_mib() -> float:
    """VmHWM: the peak RSS of this process image. Unlike ru_maxrss, Linux does not carry it over from the
    parent across fork and exec, so it cross-checks the figures of the child processes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def plain_client(endpoint: str, concurrency: int) -> object:
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=max(10, concurrency + 2)),
    )


def write_file(path: Path, size: int) -> None:
    # Random data, so that nothing on the way can compress it; small blocks, so that writing the file does
    # not raise the peak memory that the transfers are measured against.
    with open(path, "wb") as file:
        remaining = size
        while remaining:
            remaining -= file.write(os.urandom(min(remaining, 4 * MiB)))


@dataclass
class Contender:
    name: str
    upload: Callable[[str], None]
    download: Callable[[str, Path], None]
    delete: Callable[[str], None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-size-mib", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=4, help="upload rounds")
    parser.add_argument("--download-rounds", type=int, default=2, help="how many of the rounds also download")
    parser.add_argument("--server", choices=["moto", "seaweedfs"], default="moto")
    parser.add_argument("--client", action="store_true", help="also push and load a model through Ebonite")
    parser.add_argument("--measure-memory", nargs=3, metavar=("WHO", "ENDPOINT", "FILE"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure_memory:
        measure_memory(options, *options.measure_memory)
        return
    # The tests' credentials and nothing from ~/.aws or the machine's AWS_* variables, for this process and
    # the ones it starts.
    environment = child_environment()
    os.environ.clear()
    os.environ.update(environment)

    size = options.size_mib * MiB
    workdir = Path(tempfile.mkdtemp(prefix="ebonite-s3-bench-"))
    server = (MotoServer if options.server == "moto" else SeaweedFSServer)(workdir / "server")
    try:
        server.start()
        run(options, size, server.endpoint, workdir)
    except ServerUnavailable as err:
        raise SystemExit(f"{options.server} did not start: {err}") from err
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run(options: argparse.Namespace, size: int, endpoint: str, workdir: Path) -> None:
    def repository(checksum: str) -> S3ArtifactRepository:
        return S3ArtifactRepository(
            BUCKET,
            endpoint=endpoint,
            prefix=f"repo-{checksum.lower()}",
            create_bucket=True,
            part_size=options.part_size_mib * MiB,
            max_concurrency=options.concurrency,
            checksum_algorithm=checksum,
        )

    crc32, sha256 = repository("CRC32"), repository("SHA256")
    client = plain_client(endpoint, options.concurrency)
    config = crc32.transfer_config  # the very same transfer settings for plain boto3
    crc32.keys()  # creates the bucket before any measurement
    source = workdir / "artifact.bin"
    baseline = peak_rss_mib()
    write_file(source, size)

    def repository_contender(name: str, repo: S3ArtifactRepository) -> Contender:
        return Contender(
            name,
            lambda key: repo.push(key, {"model.bin": source}),
            lambda key, target: repo.download(key, "model.bin", target),
            repo.delete,
        )

    contenders = [
        repository_contender("repository (CRC32)", crc32),
        repository_contender("repository (SHA256)", sha256),
        Contender(
            "boto3 upload_file/download_file",
            lambda key: client.upload_file(str(source), BUCKET, f"plain/{key}", Config=config),
            lambda key, target: client.download_file(BUCKET, f"plain/{key}", str(target), Config=config),
            lambda key: client.delete_object(Bucket=BUCKET, Key=f"plain/{key}"),
        ),
    ]
    print(
        f"{options.server} server at {endpoint} (a separate process); file {size / MiB:.0f} MiB, part size "
        f"{options.part_size_mib} MiB, concurrency {options.concurrency}, {options.rounds} rounds"
    )
    # Memory first, while this process is still small: a child starts with its parent's ru_maxrss.
    print("peak RSS (ru_maxrss) of a fresh process that pushes and downloads the file once, above its baseline")
    print("after imports (goal < 150 MB); VmHWM, the same for the process image alone, in brackets:")
    for who in ("repository", "boto3"):
        report = memory_of(who, options, endpoint, source)
        growth, hwm_growth = report["peak"] - report["baseline"], report["hwm"][1] - report["hwm"][0]
        print(
            f"  {who:<10} baseline {report['baseline']:6.1f} MiB, peak {report['peak']:6.1f} MiB: "
            f"+{growth:.1f} MiB   (VmHWM {report['hwm'][0]:.1f} -> {report['hwm'][1]:.1f}: +{hwm_growth:.1f} MiB)"
        )
    # The first transfers into a fresh server are slower: one unmeasured round trip first.
    contenders[-1].upload("warm-up")
    contenders[-1].download("warm-up", workdir / "warm-up.bin")
    contenders[-1].delete("warm-up")
    (workdir / "warm-up.bin").unlink()
    upload: dict[str, list[float]] = {contender.name: [] for contender in contenders}
    download: dict[str, list[float]] = {contender.name: [] for contender in contenders}
    for round_number in range(options.rounds):
        order = contenders if round_number % 2 == 0 else contenders[::-1]
        downloading = round_number < options.download_rounds
        print(f"round {round_number + 1}:")
        for contender in order:
            key = f"round{round_number}"
            target = workdir / "downloaded.bin"
            started = time.perf_counter()
            contender.upload(key)
            upload[contender.name].append(size / MiB / (time.perf_counter() - started))
            line = f"  {contender.name:<34} up {upload[contender.name][-1]:7.1f} MiB/s"
            if downloading:
                started = time.perf_counter()
                contender.download(key, target)
                download[contender.name].append(size / MiB / (time.perf_counter() - started))
                if target.stat().st_size != size:
                    raise SystemExit(f"{contender.name}: the download has the wrong size")
                target.unlink()
                line += f"   down {download[contender.name][-1]:7.1f} MiB/s"
            contender.delete(key)
            print(line, flush=True)

    plain = contenders[-1].name
    print("ratio to plain boto3 (goal >= 0.9), of the best and of the median rounds:")
    for contender in contenders[:-1]:
        ratios = []
        for label, figures in (("upload", upload), ("download", download)):
            best = max(figures[contender.name]) / max(figures[plain])
            median = statistics.median(figures[contender.name]) / statistics.median(figures[plain])
            ratios.append(f"{label} {best:.2f} (median {median:.2f})")
        print(f"  {contender.name:<22} " + "   ".join(ratios))
    print(f"this process, every transfer above: +{peak_rss_mib() - baseline:.1f} MiB over {baseline:.1f} MiB")
    if options.client:
        client_round_trip(endpoint, options, size, workdir)


def measure_memory(options: argparse.Namespace, who: str, endpoint: str, file: str) -> None:
    """In a process of its own: push and download ``file`` once, print the peak RSS above the baseline."""
    repository = S3ArtifactRepository(
        BUCKET,
        endpoint=endpoint,
        prefix="memory",
        part_size=options.part_size_mib * MiB,
        max_concurrency=options.concurrency,
    )
    client = plain_client(endpoint, options.concurrency)
    target = Path(file).with_name(f"memory-{who}.bin")
    baseline, baseline_hwm = peak_rss_mib(), high_water_mib()
    if who == "repository":
        repository.push("memory", {"model.bin": Path(file)})
        repository.download("memory", "model.bin", target)
        repository.delete("memory")
    else:
        config = repository.transfer_config
        client.upload_file(file, BUCKET, "plain/memory", Config=config)
        client.download_file(BUCKET, "plain/memory", str(target), Config=config)
        client.delete_object(Bucket=BUCKET, Key="plain/memory")
    target.unlink()
    print(json.dumps({"baseline": baseline, "peak": peak_rss_mib(), "hwm": [baseline_hwm, high_water_mib()]}))


def memory_of(who: str, options: argparse.Namespace, endpoint: str, source: Path) -> dict[str, Any]:
    arguments = [f"--{name.replace('_', '-')}={getattr(options, name)}" for name in ("part_size_mib", "concurrency")]
    done = subprocess.run(
        [sys.executable, __file__, *arguments, "--measure-memory", who, endpoint, str(source)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def client_round_trip(endpoint: str, options: argparse.Namespace, size: int, workdir: Path) -> None:
    from ebonite_core import Ebonite
    from ebonite_core.testing import ScaleModel

    ebnt = Ebonite.custom_client(
        "local",
        "s3",
        meta_kwargs={"path": workdir / "metadata.json"},
        artifact_kwargs={
            "bucket_name": BUCKET,
            "endpoint": endpoint,
            "prefix": "client",
            "part_size": options.part_size_mib * MiB,
            "max_concurrency": options.concurrency,
        },
    )
    task = ebnt.get_or_create_task("bench", "bench")
    model_object = ScaleModel(2.0, os.urandom(size))
    started = time.perf_counter()
    task.create_and_push_model(model_object, [1.0], "big")
    pushed = time.perf_counter()
    loaded = ebnt.get_model("big", task).object
    done = time.perf_counter()
    assert len(loaded.payload) == size
    print("through the whole client (analyse, pickle, hash, upload; download, verify sha256, unpickle):")
    print(f"  push_model {size / MiB / (pushed - started):.1f} MiB/s, load {size / MiB / (done - pushed):.1f} MiB/s")


if __name__ == "__main__":
    main()
