"""Artifacts over HTTP, streamed in bounded memory both ways.

An upload (``PUT /artifacts/{key}?files=a:3,b:5``) sends the files' bytes one after the other. The server
writes each into a private temporary directory (in the artifact repository's staging directory, so that a
local store links rather than copies), measuring its size and sha256 as it arrives, hands the complete set
to the repository's ``push`` and only then records the key with what it measured. An upload cut short
stores nothing: its temporary directory is removed, or, if the server itself was killed, left for
``ebonite gc`` (it is named ``ebonite-push-<pid>-...`` like the client's own). The model that references
the key becomes visible only when its manifest matches what was measured (:func:`api.create_model`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import FileResponse, JSONResponse, Response

from ebonite_core.errors import ArtifactNotFoundError
from ebonite_core.repository import check_artifact_key, check_artifact_name

from .protocol import AccessDeniedError, decode_files

if TYPE_CHECKING:
    from starlette.requests import Request

    from .access import Access

CHUNK = 1024 * 1024


class PayloadTooLargeError(ValueError):
    """A request body above the server's limit (answered 413)."""


class _Sink:
    """One file being received: written and hashed in a worker thread, a chunk of about 1 MiB at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = open(path, "xb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.file.write(data)
        self.hash.update(data)
        self.size += len(data)


async def upload(access: Access, request: Request, key: str) -> Response:
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
    staging = await run_in_threadpool(access.artifacts.staging_dir)
    directory = tempfile.mkdtemp(prefix=f"ebonite-push-{os.getpid()}-", dir=staging)
    try:
        measured = await _receive(request, Path(directory), sizes)
        paths = {name: Path(directory) / name for name in sizes}
        await run_in_threadpool(_store, access, key, paths, measured)
    finally:
        await run_in_threadpool(shutil.rmtree, directory, True)
    files = [{"name": name, "size": size, "sha256": sha256} for name, (size, sha256) in measured.items()]
    return JSONResponse({"key": key, "files": files}, status_code=201)


async def _receive(request: Request, directory: Path, sizes: dict[str, int]) -> dict[str, tuple[int, str]]:
    """Write the body into one file per entry of ``sizes``; their sizes and sha256s."""
    order = iter(sizes.items())
    name, remaining = next(order)
    sink = _Sink(directory / check_artifact_name(name))
    measured: dict[str, tuple[int, str]] = {}
    pending = bytearray()

    async def flush() -> None:
        if pending:
            data = bytes(pending)
            pending.clear()
            await run_in_threadpool(sink.write, data)

    try:
        async for chunk in request.stream():
            view = memoryview(chunk)
            while view:
                if remaining == 0:
                    await flush()
                    measured[name] = await run_in_threadpool(_finish, sink)
                    entry = next(order, None)
                    if entry is None:
                        raise ValueError("The upload has more bytes than its files add up to.")
                    name, remaining = entry
                    sink = _Sink(directory / check_artifact_name(name))
                taken = view[:remaining]
                pending += taken
                remaining -= len(taken)
                view = view[len(taken) :]
                if len(pending) >= CHUNK:
                    await flush()
        await flush()
        measured[name] = await run_in_threadpool(_finish, sink)
        for name, remaining in order:  # files after the last byte received: only empty ones may be left
            if remaining:
                break
            sink = _Sink(directory / check_artifact_name(name))
            measured[name] = await run_in_threadpool(_finish, sink)
    except ClientDisconnect:
        raise ValueError("The upload was interrupted: nothing was stored.") from None
    finally:
        sink.file.close()
    if set(measured) != set(sizes) or any(measured[name][0] != size for name, size in sizes.items()):
        raise ValueError("The upload ended before all of its files arrived: nothing was stored.")
    return measured


def _finish(sink: _Sink) -> tuple[int, str]:
    sink.file.close()
    return sink.size, sink.hash.hexdigest()


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
    """(Blocking) a response streaming one stored file: read in place when the repository offers a local
    path, else fetched into a temporary file first (removed once sent)."""
    check_artifact_key(key)
    check_artifact_name(name)
    access.authorize_key(key, "read")
    path = access.artifacts.local_path(key, name)
    if path is not None and Path(path).is_file():
        return _FileResponse(path, media_type="application/octet-stream")
    if path is not None:
        raise ArtifactNotFoundError(f"Artifact file {name!r} of key {key!r} does not exist.")
    directory = tempfile.mkdtemp(prefix=f"ebonite-load-{os.getpid()}-", dir=access.artifacts.staging_dir())
    try:
        access.artifacts.download(key, name, Path(directory) / name)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return _FileResponse(
        Path(directory) / name,
        media_type="application/octet-stream",
        background=BackgroundTask(shutil.rmtree, directory, True),
    )


def delete(access: Access, key: str) -> None:
    check_artifact_key(key)
    access.authorize_key(key, "write")
    access.artifacts.delete(key)
    access.state.forget_key(key)


def keys(access: Access) -> dict[str, Any]:
    visible = access.visible_keys()
    stored = access.artifacts.keys()
    return {"keys": {key: when.isoformat() for key, when in stored.items() if visible is None or key in visible}}
