"""Artifact downloads read in large blocks, over the standard library's ``http.client``.

httpx reads a response body in pieces of 64 KiB, which its HTTP parser copies twice each: on a 1 GiB load that
is a third of the client's CPU time, and on two cores shared with the threads that hash and write the file
(and with a server on the same machine) the download waits for it (``benchmarks/server_overhead.py``). Here
each block of :data:`BLOCK` bytes goes from the socket into one ``bytes`` object, which the client's hashing
file takes as it is (:meth:`ebonite_core.ArtifactRepository.download_into`).

Each thread keeps one connection open between downloads (keep-alive); a kept connection the server closed
meanwhile is replaced once, before any byte of the answer arrived (a GET can be sent again). Used only where
no proxy is configured (see ``client._transport``): httpx honours a proxy, this does not.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
import urllib.parse
import weakref
from typing import BinaryIO

import httpx

from ebonite_core.errors import RepositoryError

from .protocol import error_from_wire

BLOCK = 4 * 1024 * 1024
MAX_ERROR_BODY = 64 * 1024


def broken_download(what: str, err: Exception) -> RepositoryError:
    """The error for a download of ``what`` that the transport (not the server's answer) broke."""
    return RepositoryError(f"Cannot download {what}: {err or type(err).__name__}")


class BlockDownloads:
    """``GET`` requests to one server whose bodies are written into files in blocks of :data:`BLOCK` bytes."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname or "", parts.port
        self._base_path = parts.path.rstrip("/")
        self._headers = headers
        self._timeout = timeout
        self._ssl_context: ssl.SSLContext | None = None  # made once: loading the authorities takes 30 ms
        self._local = threading.local()
        self._lock = threading.Lock()
        # Weak: a thread that ends takes its connection with it (closed when collected), so that threads that
        # come and go (a thread per request) leave no sockets open behind them.
        self._opened: weakref.WeakSet[http.client.HTTPConnection] = weakref.WeakSet()

    def get_into(self, path: str, file: BinaryIO, what: str) -> None:
        """Write the body of ``GET path`` into ``file``; the server's error answer as the ebonite error it
        names; a broken transfer as a :class:`RepositoryError` naming ``what`` was downloaded."""
        connection, response = self._get(path, what)
        try:
            if response.status >= 400:
                try:
                    body = json.loads(response.read(MAX_ERROR_BODY))
                except (OSError, http.client.HTTPException, ValueError):
                    body = None
                raise error_from_wire(response.status, body)
            while block := self._read(response, what):
                file.write(block)
            if response.length:  # http.client ends a body cut short without an error
                raise RepositoryError(f"Cannot download {what}: the connection closed {response.length} bytes early.")
        except BaseException:
            self._discard(connection)  # an answer not read to its end leaves the connection unusable
            raise

    def _get(self, path: str, what: str) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        for attempt in (1, 2):
            connection, kept = self._connection()
            try:
                connection.request("GET", self._base_path + path, headers=self._headers)
                return connection, connection.getresponse()
            except (OSError, http.client.HTTPException) as err:
                self._discard(connection)
                if not (kept and attempt == 1 and isinstance(err, (ConnectionError, http.client.BadStatusLine))):
                    raise broken_download(what, err) from err
        raise AssertionError("unreachable")

    def _read(self, response: http.client.HTTPResponse, what: str) -> bytes:
        try:
            return response.read(BLOCK)
        except (OSError, http.client.HTTPException) as err:
            raise broken_download(what, err) from err

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection, and whether it served an earlier request."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        if self._https:
            if self._ssl_context is None:
                # The context httpx would use (certifi's authorities, SSL_CERT_FILE and SSL_CERT_DIR honoured).
                self._ssl_context = httpx.create_ssl_context()
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._ssl_context
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.connection = connection
        with self._lock:
            self._opened.add(connection)
        return connection, False

    def _discard(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        if getattr(self._local, "connection", None) is connection:
            del self._local.connection
        with self._lock:
            self._opened.discard(connection)

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            opened, self._opened = list(self._opened), weakref.WeakSet()
        for connection in opened:
            connection.close()
