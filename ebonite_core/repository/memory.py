"""Records held in memory, with name and parent indexes: the storage of the ``inmemory`` and ``local`` backends.

The state is JSON-ready data (``{"next_id": n, "projects": {id: record}, "tasks": ..., "models": ...}``), so
that the local backend writes it as it is. A stored record is never changed in place: ``put`` stores the new
dict it is given, and records handed out by ``load`` are never mutated by the base.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .records import PARENT_FIELD, Kind, Record, RecordMetadataRepository

State = dict[str, Any]
TABLES: tuple[Kind, ...] = ("projects", "tasks", "models")


def empty_state() -> State:
    return {"next_id": 1, "projects": {}, "tasks": {}, "models": {}}


class RecordTables(RecordMetadataRepository):
    """The primitives and fast paths of :class:`RecordMetadataRepository` on a :data:`State` in memory.

    Subclasses provide ``transaction`` and ``reading`` (the locking, and for the local backend the file).
    """

    state: State

    def use_state(self, state: State) -> None:
        """Hold ``state`` from now on (for instance one just read from a file), indexing it."""
        self.state = state
        # (kind, parent id, name) -> id, and (kind, parent id) -> {child id: None} in creation order
        self._names: dict[tuple[str, str | None, str], str] = {}
        self._children: dict[tuple[str, str | None], dict[str, None]] = {}
        for kind in TABLES:
            for record in state[kind].values():
                self._index(kind, record)

    def _index(self, kind: Kind, record: Record) -> None:
        parent = self._parent(kind, record)
        self._names[(kind, parent, record["name"])] = record["id"]
        self._children.setdefault((kind, parent), {})[record["id"]] = None

    def _unindex(self, kind: Kind, record: Record) -> None:
        parent = self._parent(kind, record)
        self._names.pop((kind, parent, record["name"]), None)
        self._children.get((kind, parent), {}).pop(record["id"], None)

    @staticmethod
    def _parent(kind: Kind, record: Record) -> str | None:
        parent_field = PARENT_FIELD[kind]
        return record[parent_field] if parent_field else None

    # The primitives
    def load(self, kind: Kind, record_id: str) -> Record | None:
        return self.state[kind].get(record_id)

    def scan(self, kind: Kind) -> Iterable[Record]:
        return list(self.state[kind].values())

    def put(self, kind: Kind, record: Record) -> None:
        old = self.state[kind].get(record["id"])
        if old is not None:
            self._unindex(kind, old)
        self.state[kind][record["id"]] = record
        self._index(kind, record)

    def delete(self, kind: Kind, record_id: str) -> None:
        self._unindex(kind, self.state[kind].pop(record_id))

    # The fast paths
    def find(self, kind: Kind, parent_id: str | None, name: str) -> Record | None:
        record_id = self._names.get((kind, parent_id, name))
        return self.state[kind][record_id] if record_id is not None else None

    def children(self, kind: Kind, parent_id: str | None) -> Iterable[Record]:
        table = self.state[kind]
        return [table[record_id] for record_id in self._children.get((kind, parent_id), ())]

    def new_id(self) -> str:
        # A counter kept in the state itself, so that an id is never reused, even after deletes.
        new_id = self.state["next_id"]
        self.state["next_id"] = new_id + 1
        return str(new_id)
