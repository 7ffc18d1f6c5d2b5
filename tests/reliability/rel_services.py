"""Real servers for the reliability tests: the S3 and SQL server helpers of ``tests/s3`` and
``tests/sqlalchemy``, servers that stop and start again on their data, and a TCP proxy that cuts a
connection at a chosen moment.

``s3_servers`` and ``sql_servers`` are the helpers of those directories (importable by name: ``pythonpath`` in
``pyproject.toml``), so that there is one copy of each.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time

import s3_servers
import sql_servers
from services import service_unavailable

__all__ = [
    "CuttingProxy",
    "RestartableMariaDB",
    "RestartablePostgres",
    "s3_servers",
    "service_unavailable",
    "sql_servers",
    "start_restartable",
]


class RestartablePostgres(sql_servers.PostgresServer):
    """A PostgreSQL server that can be stopped and started again on the same port and data.

    Unlike the other test servers it keeps ``synchronous_commit`` on: a commit it acknowledged survives
    ``halt()`` (``fsync=off`` only matters when the operating system itself crashes).
    """

    def _options(self) -> str:
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"

    def start(self) -> RestartablePostgres:
        super().start()
        self._pg_ctl("-m", "fast", "stop")  # started with synchronous_commit=off: start again without it
        self.resume()
        return self

    def halt(self) -> None:
        """Stop the server now (``immediate``: connections are cut, as in a crash or a network outage)."""
        assert self.data is not None
        self._pg_ctl("-m", "immediate", "stop")

    def resume(self) -> None:
        assert self.data is not None and self.root is not None
        self._pg_ctl("-l", str(self.root / "server.log"), "-w", "-o", self._options(), "start")
        sql_servers._wait_for(self.url("postgres"), "PostgreSQL", self.root / "server.log")

    def _pg_ctl(self, *arguments: str) -> None:
        command = [*sql_servers._as_user("postgres"), str(self.bin / "pg_ctl"), "-D", str(self.data), *arguments]
        subprocess.run(command, check=True, capture_output=True, timeout=120)


class RestartableMariaDB(sql_servers.MariaDBServer):
    """A MariaDB server that can be killed and started again on the same port and data.

    Unlike the other test servers it flushes its log at every commit: a commit it acknowledged survives
    ``halt()``.
    """

    def start(self) -> RestartableMariaDB:
        super().start()
        assert self.process is not None
        durable = "--innodb-flush-log-at-trx-commit=1"
        self._command = [
            durable if argument.startswith("--innodb-flush-log-at-trx-commit") else argument
            for argument in self.process.args  # type: ignore[union-attr]
        ]
        with self.admin().connect() as connection:
            connection.exec_driver_sql("SET GLOBAL innodb_flush_log_at_trx_commit = 1")
        return self

    def halt(self) -> None:
        """Kill the server (SIGKILL: connections are cut, as in a crash)."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def resume(self) -> None:
        assert self.root is not None
        self.process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sql_servers._wait_for(self.url("mysql"), "MariaDB", self.root / "server.log")


def start_restartable(kind: str) -> RestartablePostgres | RestartableMariaDB:
    """A restartable ``postgresql`` or ``mariadb`` server; ``ServerUnavailable`` if it cannot run here."""
    return sql_servers.started(RestartablePostgres() if kind == "postgresql" else RestartableMariaDB())


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of a server, which can lose one answer the way a network does.

    :meth:`cut_answer_to` arms it: the next client message containing ``pattern`` (``b"COMMIT"``) is
    delivered to the server, and when the server answers, the answer is dropped and the connection closed.
    The server has done the work; the client cannot know it.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._pattern: bytes | None = None
        self._lock = threading.Lock()
        self.cuts = 0
        self._closed = False
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_answer_to(self, pattern: bytes) -> None:
        with self._lock:
            self._pattern = pattern

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=30)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            self._sockets += [client, server]
            state = {"cut": False}
            threading.Thread(target=self._pump, args=(client, server, state, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, state, False), daemon=True).start()

    def _pump(self, source: socket.socket, destination: socket.socket, state: dict[str, bool], upward: bool) -> None:
        try:
            while data := source.recv(65536):
                if upward:
                    with self._lock:
                        if self._pattern is not None and self._pattern in data:
                            self._pattern = None
                            state["cut"] = True
                elif state["cut"]:
                    with self._lock:
                        self.cuts += 1
                    break  # the server answered: drop the answer, then the connection
                destination.sendall(data)
        except OSError:
            pass
        for end in (source, destination):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()

    def wait_for_cut(self, cuts: int = 1, attempts: int = 200) -> bool:
        for _ in range(attempts):
            if self.cuts >= cuts:
                return True
            time.sleep(0.01)
        return self.cuts >= cuts

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for end in self._sockets:
            try:
                end.close()
            except OSError:
                pass
