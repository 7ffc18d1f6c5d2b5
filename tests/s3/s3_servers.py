"""Real S3 servers for the tests, each a separate process on 127.0.0.1: moto's server and SeaweedFS.

Both are started from the executables installed by ebonite-s3's ``test`` extra (``moto_server`` and
``weed``, next to the test interpreter). Every port is chosen free; nothing listens beyond loopback.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from services import stop_process

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
READER_ACCESS_KEY = "reader"  # a SeaweedFS identity that may read and list, never write
READER_SECRET_KEY = "reader-secret"
SEAWEEDFS_BUCKET = "ebonite-tests"  # SeaweedFS tests share one bucket, each under a prefix of its own
STARTUP_SECONDS = 60.0  # a bounded wait for a server to answer; a slow start is reported, not awaited forever

TEST_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_EC2_METADATA_DISABLED": "true",  # never ask the instance metadata address for credentials
    "AWS_RETRY_MODE": "standard",
    "AWS_MAX_ATTEMPTS": "2",  # keeps the unreachable-endpoint tests short
}
# Variables of the machine's environment that would leak into boto3's credential chain or endpoint.
FOREIGN_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_REGION",
    "AWS_CA_BUNDLE",
)


class ServerUnavailable(RuntimeError):
    """A server could not be started; the reason says why."""


def child_environment() -> dict[str, str]:
    """The environment for servers and client subprocesses: the test credentials, nothing from ~/.aws."""
    environment = {name: value for name, value in os.environ.items() if name not in FOREIGN_VARIABLES}
    environment.update(TEST_ENVIRONMENT)
    return environment


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` free loopback ports ``p`` whose ``p + 10000`` is free too (SeaweedFS's gRPC convention),
    all below Linux's ephemeral range so that no outgoing connection takes them meanwhile."""
    chosen: list[int] = []
    while len(chosen) < count:
        port = random.randint(15000, 22700)
        taken = {p for c in chosen for p in (c, c + 10000)}
        if port not in taken and port + 10000 not in taken and _bindable(port) and _bindable(port + 10000):
            chosen.append(port)
    return chosen


def closed_port() -> int:
    """A loopback port that nothing listens on (for unreachable-endpoint tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _executable(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise ServerUnavailable(f"{name} is not installed (pip install 'ebonite-s3[test]')")
    return found


class S3Server:
    """One server process: start, stop, restart (same ports, same data), and clients for tests."""

    kind = "s3"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = open(self.workdir / "server.log", "ab")
        try:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=child_environment(), cwd=self.workdir
            )
        finally:
            log.close()
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServerUnavailable(f"{self.kind} exited with code {self.process.returncode}: {self.log_tail()}")
            try:
                self.probe()
                return
            except Exception as err:  # not ready yet
                last_error = err
                time.sleep(0.1)
        self.stop()
        raise ServerUnavailable(f"{self.kind} did not answer within {STARTUP_SECONDS} s ({last_error})")

    def probe(self) -> None:
        """Return when the server serves S3 requests; raise otherwise."""
        self.client().list_buckets()

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM, then wait up to ``grace`` seconds; SIGKILL if it has not exited by then."""
        stop_process(self.process, grace)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join((self.workdir / "server.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def client(self, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
        """A plain boto3 client for the test itself (to prepare or inspect, never as the code under test)."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 2}),
        )


class MotoServer(S3Server):
    """moto's S3 server. It keeps everything in memory, checks no signature and no checksum."""

    kind = "moto"

    def command(self) -> list[str]:
        if not self.port:
            self.port = free_ports(1)[0]
        return [_executable("moto_server"), "-H", "127.0.0.1", "-p", str(self.port)]

    def reset(self) -> None:
        """Forget every bucket (moto's own reset API), to keep the server's memory small between tests."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass


class SeaweedFSServer(S3Server):
    """SeaweedFS (``weed mini``): a real S3 server that checks signatures and checksums, and keeps its data
    on disk across a restart. Two identities: ``testing`` (everything) and ``reader`` (read and list)."""

    kind = "seaweedfs"
    PROBE_BUCKET = "ebonite-probe"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.ports: dict[str, int] = {}

    def command(self) -> list[str]:
        if not self.ports:
            names = ("s3", "master", "volume", "filer", "admin")
            self.ports = dict(zip(names, free_ports(len(names)), strict=True))
            self.port = self.ports["s3"]
        (self.workdir / "data").mkdir(exist_ok=True)
        identities = [
            {
                "name": "tester",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {
                "name": "reader",
                "credentials": [{"accessKey": READER_ACCESS_KEY, "secretKey": READER_SECRET_KEY}],
                "actions": ["Read", "List"],
            },
        ]
        (self.workdir / "s3.json").write_text(json.dumps({"identities": identities}))
        grpc = {name: port + 10000 for name, port in self.ports.items()}
        return [
            _executable("weed"),
            "mini",
            f"-dir={self.workdir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-webdav=false",
            "-admin.ui=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-volume.preStopSeconds=0",
            f"-s3.config={self.workdir / 's3.json'}",
            f"-s3.port={self.ports['s3']}",
            f"-s3.port.grpc={grpc['s3']}",
            f"-master.port={self.ports['master']}",
            f"-master.port.grpc={grpc['master']}",
            f"-volume.port={self.ports['volume']}",
            f"-volume.port.grpc={grpc['volume']}",
            f"-filer.port={self.ports['filer']}",
            f"-filer.port.grpc={grpc['filer']}",
            f"-admin.port={self.ports['admin']}",
            f"-admin.port.grpc={grpc['admin']}",
        ]

    def probe(self) -> None:
        # Listing answers before the volume server takes writes: probe with a write.
        client = self.client()
        try:
            client.create_bucket(Bucket=self.PROBE_BUCKET)
        except ClientError as err:
            if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        client.put_object(Bucket=self.PROBE_BUCKET, Key="probe", Body=b"ok")


@dataclass
class Location:
    server: S3Server
    bucket: str
    prefix: str

    def object_keys(self) -> list[str]:
        """Every object under this location, listed with a plain boto3 client."""
        client = self.server.client()
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
            keys.extend(item["Key"] for item in page.get("Contents", ()))
        return keys

    def open_uploads(self) -> list[dict[str, Any]]:
        response = self.server.client().list_multipart_uploads(Bucket=self.bucket, Prefix=self.prefix)
        return [upload for upload in response.get("Uploads", ()) if upload["Key"].startswith(self.prefix)]


def new_bucket_name() -> str:
    return f"t-{uuid.uuid4().hex[:20]}"


MiB = 1024 * 1024
TEST_PART_SIZE = 5 * MiB  # S3's (and moto's) smallest part


def repository_arguments(location: Location) -> dict[str, Any]:
    """The test repositories' settings on ``location``."""
    return {
        "bucket_name": location.bucket,
        "endpoint": location.server.endpoint,
        "prefix": location.prefix,
        "part_size": TEST_PART_SIZE,
        "max_concurrency": 4,
    }
