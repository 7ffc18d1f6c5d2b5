"""Artifacts over HTTP, streamed in bounded memory both ways.

An upload (``PUT /artifacts/{key}?files=a:3,b:5``) sends the files' bytes one after the other. The server
writes each file into a private temporary directory (in the artifact repository's staging directory, so that
a local store links rather than copies), measuring its size and sha256 as it arrives, hands the complete set
to the repository's ``push`` and only then records the key with what it measured. An upload cut short stores
nothing: its temporary directory is removed, or, if the server itself was killed, left for ``ebonite gc``
(it is named ``ebonite-push-<pid>-...`` like the client's own). The model that references the key becomes
visible only when its manifest matches what was measured (:func:`api.create_model`).

A small model is pushed in one request (``POST /tasks/{task_id}/pushes?metadata_size=N``: the model's
metadata, N bytes of JSON as ``create_model`` takes it, then its files' bytes in the order of its manifest):
the server checks the metadata and the files against the manifest, stores the files, then the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, JSONResponse, Response

from ebonite_core.errors import ArtifactNotFoundError, ExistingModelError
from ebonite_core.repository import check_artifact_key, check_artifact_name

from . import api
from .protocol import AccessDeniedError, decode_files

if TYPE_CHECKING:
    from starlette.requests import Request

    from .access import Access

CHUNK = 1024 * 1024


class PayloadTooLargeError(ValueError):
    """A request body above the server's limit (answered 413)."""


class _Writer:
    """The files of one upload, written and hashed by two threads of their own while the request's body is
    still arriving: receiving, writing and hashing overlap, and at most ``QUEUED`` chunks of about 1 MiB
    wait in memory (the receiving side waits when the queues are full)."""

    QUEUED = 8
    SYNC_EVERY = 32 * CHUNK

    def __init__(self, directory: Path, sync: bool) -> None:
        self.directory = directory
        self.sync = sync  # the repository fsyncs what it is given: write through as we go (see below)
        self.writes: queue.Queue[tuple[str, bytes] | None] = queue.Queue(self.QUEUED)
        self.hashes: queue.Queue[tuple[str, bytes] | None] = queue.Queue(self.QUEUED)
        self.digests: dict[str, Any] = {}
        self.sizes: dict[str, int] = {}
        self.errors: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._write, daemon=True),
            threading.Thread(target=self._hash, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _write(self) -> None:
        file = None
        name = None
        unsynced = 0
        try:
            while (item := self.writes.get()) is not None:
                if item[0] != name:
                    if file is not None:
                        file.close()
                    name = item[0]
                    file = open(self.directory / check_artifact_name(name), "xb")
                assert file is not None
                file.write(item[1])
                unsynced += len(item[1])
                if self.sync and unsynced >= self.SYNC_EVERY:
                    # The repository's push fsyncs every file: put the bytes on the disk while they arrive,
                    # so that little is left for that fsync at the end.
                    file.flush()
                    os.fdatasync(file.fileno())
                    unsynced = 0
        except BaseException as err:
            self.errors.append(err)
            while self.writes.get() is not None:  # keep draining, so that the receiving side never blocks
                pass
        finally:
            if file is not None:
                file.close()

    def _hash(self) -> None:
        while (item := self.hashes.get()) is not None:
            name, data = item
            self.digests.setdefault(name, hashlib.sha256()).update(data)
            self.sizes[name] = self.sizes.get(name, 0) + len(data)

    async def put(self, name: str, data: bytes) -> None:
        for target in (self.writes, self.hashes):
            try:
                target.put_nowait((name, data))
            except queue.Full:
                await run_in_threadpool(target.put, (name, data))
        if self.errors:
            raise self.errors[0]

    async def close(self) -> dict[str, tuple[int, str]]:
        """Wait for both threads; the size and sha256 of every file written."""
        for target in (self.writes, self.hashes):
            await run_in_threadpool(target.put, None)
        for thread in self.threads:
            await run_in_threadpool(thread.join)
        if self.errors:
            raise self.errors[0]
        return {name: (self.sizes[name], digest.hexdigest()) for name, digest in self.digests.items()}


async def upload(request: Request, key: str, authenticate: Callable[[Request], Access]) -> Response:
    """Receive, check and store the files of a new key (``authenticate`` blocks: it runs on a worker thread)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) <= CHUNK:
        # A small model: the body (bounded by its declared length, as a JSON request's is) is read first, so
        # that authentication, the checks and storing take one trip to a worker thread.
        body = await _read_small(request, int(declared))
        measured = await run_in_threadpool(_upload_small, authenticate, request, key, body)
    else:
        access, sizes = await run_in_threadpool(_authorized_upload, authenticate, request, key)
        total = sum(sizes.values())
        if total <= CHUNK:  # sent without a length
            body = await _read_small(request, total)
            measured = await run_in_threadpool(_store_measured, access, key, sizes, body)
        else:
            measured = await _store_large(access, request, key, sizes)
    files = [{"name": name, "size": size, "sha256": sha256} for name, (size, sha256) in measured.items()]
    return JSONResponse({"key": key, "files": files}, status_code=201)


def _checked_sizes(access: Access, request: Request, key: str) -> dict[str, int]:
    """The files an upload announces (``?files=name:size,...``), once the principal may upload them."""
    check_artifact_key(key)
    if not access.principal.can_write_somewhere():
        raise AccessDeniedError("This token may not upload artifacts: that needs the write role on a project.")
    sizes = decode_files(request.query_params.get("files", ""))
    total = sum(sizes.values())
    limit = access.context.settings.max_upload_bytes
    if total > limit:
        raise PayloadTooLargeError(f"The upload of {total} bytes is above this server's limit of {limit} bytes.")
    declared = request.headers.get("content-length")
    if declared is not None and declared != str(total):
        raise ValueError(f"Content-Length {declared[:20]} differs from the {total} bytes the files add up to.")
    return sizes


def _authorized_upload(
    authenticate: Callable[[Request], Access], request: Request, key: str
) -> tuple[Access, dict[str, int]]:
    """(Blocking) the principal of an upload and the files it announces, once every check passed."""
    access = authenticate(request)
    return access, _checked_sizes(access, request, key)


def _upload_small(
    authenticate: Callable[[Request], Access], request: Request, key: str, body: bytes
) -> dict[str, tuple[int, str]]:
    access, sizes = _authorized_upload(authenticate, request, key)
    return _store_measured(access, key, sizes, body)


async def push_small(request: Request, task_id: str, authenticate: Callable[[Request], Access]) -> Response:
    """Store a small model's metadata and files, sent in one request (see the module's docstring)."""
    limit = CHUNK + request.app.state.context.settings.max_json_bytes
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit() or int(declared) > limit:
        raise PayloadTooLargeError(
            f"A push in one request sends a Content-Length of at most {limit} bytes: upload larger files with "
            "PUT /artifacts/{key}, then store the model with POST /tasks/{task_id}/models."
        )
    body = await _read_small(request, int(declared))
    stored = await run_in_threadpool(_push_small, authenticate, request, task_id, body)
    return JSONResponse(stored, status_code=201)


def _push_small(authenticate: Callable[[Request], Access], request: Request, task_id: str, body: bytes) -> Any:
    """(Blocking) check everything, then store the files, then the model: a refused push stores nothing."""
    access = authenticate(request)
    size = request.query_params.get("metadata_size", "")
    if not size.isdigit() or int(size) > len(body):
        raise ValueError("A push names the size of its metadata, at most the body's: ?metadata_size=N.")
    try:
        metadata = json.loads(body[: int(size)])
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"The push's metadata is not valid JSON: {err}.") from None
    model, task, project = api.new_model(access, task_id, metadata)
    key = check_artifact_key(str(model.artifact_key or ""))
    sizes = {check_artifact_name(artifact.name): artifact.size for artifact in model.artifacts}
    if len(sizes) != len(model.artifacts):
        raise ValueError(f"The manifest of model {model.name!r} names a file twice.")
    files = body[int(size) :]
    measured = _measure(sizes, files)
    api.check_manifest(model, measured)
    if access.meta.get_model_by_name(task, model.name) is not None:
        raise ExistingModelError.taken(model.name, task.name)
    _store_small(access, key, files, measured)
    return api.record_model(access, model, project)


async def _read_small(request: Request, total: int) -> bytes:
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > total:
                raise ValueError("The upload has more bytes than its files add up to.")
    except ClientDisconnect:
        raise ValueError("The upload was interrupted: nothing was stored.") from None
    return bytes(body)


def _measure(sizes: dict[str, int], body: bytes) -> dict[str, tuple[int, str]]:
    """The size and sha256 of each file of ``sizes`` (in order) in ``body``, which must hold them exactly."""
    if sum(sizes.values()) != len(body):
        raise ValueError(f"The files add up to {sum(sizes.values())} bytes, and {len(body)} bytes were sent.")
    measured = {}
    offset = 0
    for name, size in sizes.items():
        measured[name] = (size, hashlib.sha256(body[offset : offset + size]).hexdigest())
        offset += size
    return measured


def _store_measured(access: Access, key: str, sizes: dict[str, int], body: bytes) -> dict[str, tuple[int, str]]:
    measured = _measure(sizes, body)
    _store_small(access, key, body, measured)
    return measured


def _store_small(access: Access, key: str, body: bytes, measured: dict[str, tuple[int, str]]) -> None:
    """Store the files of ``body`` (``measured``: what :func:`_measure` found in it) under ``key``."""
    directory = Path(tempfile.mkdtemp(prefix=f"ebonite-push-{os.getpid()}-", dir=access.artifacts.staging_dir()))
    try:
        offset = 0
        for name, (size, _) in measured.items():
            (directory / check_artifact_name(name)).write_bytes(body[offset : offset + size])
            offset += size
        _store(access, key, {name: directory / name for name in measured}, measured)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _store_large(access: Access, request: Request, key: str, sizes: dict[str, int]) -> dict[str, tuple[int, str]]:
    staging = await run_in_threadpool(access.artifacts.staging_dir)
    directory = tempfile.mkdtemp(prefix=f"ebonite-push-{os.getpid()}-", dir=staging)
    try:
        writer = _Writer(Path(directory), access.artifacts.sync_staged_files)
        try:
            await _receive(request, writer, sizes)
        finally:
            measured = await writer.close()
        _check_complete(sizes, measured)
        paths = {name: Path(directory) / name for name in sizes}
        await run_in_threadpool(_store, access, key, paths, measured)
        return measured
    finally:
        await run_in_threadpool(shutil.rmtree, directory, True)


def _check_complete(sizes: dict[str, int], measured: dict[str, tuple[int, str]]) -> None:
    if any(measured.get(name, (0, ""))[0] != size for name, size in sizes.items()):
        raise ValueError("The upload ended before all of its files arrived: nothing was stored.")


async def _receive(request: Request, writer: _Writer, sizes: dict[str, int]) -> None:
    """Hand the body to ``writer``, cut into the files of ``sizes`` (in order), in chunks of about 1 MiB."""
    order = iter(sizes.items())
    name, remaining = next(order)
    pending = bytearray()
    for empty, size in sizes.items():  # empty files get a (zero-length) write, so that they exist
        if size == 0:
            await writer.put(empty, b"")
    try:
        async for chunk in request.stream():
            view = memoryview(chunk)
            while view:
                while remaining == 0:
                    if pending:
                        await writer.put(name, bytes(pending))
                        pending.clear()
                    entry = next(order, None)
                    if entry is None:
                        raise ValueError("The upload has more bytes than its files add up to.")
                    name, remaining = entry
                taken = view[:remaining]
                pending += taken
                remaining -= len(taken)
                view = view[len(taken) :]
                if len(pending) >= CHUNK:
                    await writer.put(name, bytes(pending))
                    pending.clear()
        if pending:
            await writer.put(name, bytes(pending))
    except ClientDisconnect:
        raise ValueError("The upload was interrupted: nothing was stored.") from None


def _store(access: Access, key: str, paths: dict[str, Path], measured: dict[str, tuple[int, str]]) -> None:
    access.artifacts.push(key, paths)  # never overwrites a key: FileExistsError or an EboniteError
    try:
        access.state.record_upload(key, access.principal.token_id, measured)
    except BaseException:
        access.artifacts.delete(key)  # stored files without a record are nobody's: take them back
        raise


class _FileResponse(FileResponse):
    chunk_size = CHUNK


def download(access: Access, key: str, name: str) -> Response:
    """(Blocking) a response with one stored file: read in place when the repository offers a local path, else
    fetched into a temporary file first (removed once sent)."""
    check_artifact_key(key)
    check_artifact_name(name)
    access.authorize_key(key, "read")
    path = access.artifacts.local_path(key, name)
    if path is not None and Path(path).is_file():
        return _file_response(Path(path))
    if path is not None:
        raise ArtifactNotFoundError(f"Artifact file {name!r} of key {key!r} does not exist.")
    directory = tempfile.mkdtemp(prefix=f"ebonite-load-{os.getpid()}-", dir=access.artifacts.staging_dir())
    try:
        access.artifacts.download(key, name, Path(directory) / name)
        return _file_response(Path(directory) / name, directory)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def _file_response(path: Path, temporary: str | None = None) -> Response:
    """A file of up to ``CHUNK`` bytes is read here, on the worker thread the request already runs on (a
    streamed answer takes a trip to a worker thread to open, to read and to close the file); a larger one is
    streamed in chunks of ``CHUNK``. ``temporary``: a directory to remove once the file is sent."""
    with open(path, "rb") as file:
        if os.fstat(file.fileno()).st_size <= CHUNK:
            content = file.read(CHUNK + 1)
        else:
            content = None
    if content is not None and len(content) <= CHUNK:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
        return Response(content, media_type="application/octet-stream")
    cleanup = BackgroundTask(shutil.rmtree, temporary, True) if temporary is not None else None
    return _FileResponse(path, media_type="application/octet-stream", background=cleanup)


def delete(access: Access, key: str) -> None:
    check_artifact_key(key)
    access.authorize_key(key, "write")
    access.artifacts.delete(key)
    access.state.forget_key(key)


def keys(access: Access) -> dict[str, Any]:
    visible = access.visible_keys()
    stored = access.artifacts.keys()
    return {"keys": {key: when.isoformat() for key, when in stored.items() if visible is None or key in visible}}
