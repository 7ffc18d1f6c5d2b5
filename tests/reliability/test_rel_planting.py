"""Links and foreign files planted in a local store, under every name its maintenance could touch: as each
private folder (``.tmp``, ``.staging``, ``.trash``), inside each, as a key, inside a key, as the metadata lock
and temporary file, in the system's temporary directory; and a user's own folders beside the keys.

Every operation (push, load, verify, gc with no grace period, copy, rm, clear) then either works or refuses
with a clear error, and the victim (a folder of old files outside the store) and the user's folders are
exactly as they were: nothing follows a link out of the store, nothing deletes what the store did not write.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rel_report import FaultRecord
from rel_stores import tree_snapshot

from ebonite_core import Ebonite, EboniteError
from ebonite_core.maintenance import collect_garbage, copy_models, verify
from ebonite_core.repository import KEY_MARKER, key_marker
from ebonite_core.testing import ScaleModel

OLD = time.time() - 1000 * 3600


def _age(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.utime(path, (OLD, OLD), follow_symlinks=False)


def _link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)  # the store's own (empty) private folder, replaced by the link
    path.unlink(missing_ok=True)  # the store's own lock file, replaced by the link
    path.symlink_to(target)


# Where a link to the victim (a folder, or one of its files) is planted, relative to the store's directory.
PLANTS: dict[str, Callable[[Path, Path, Path], None]] = {
    ".tmp is a link": lambda store, victim, tmp: _link(store / "artifacts" / ".tmp", victim),
    ".staging is a link": lambda store, victim, tmp: _link(store / "artifacts" / ".staging", victim),
    ".trash is a link": lambda store, victim, tmp: _link(store / "artifacts" / ".trash", victim),
    "a link inside .tmp": lambda store, victim, tmp: _link(store / "artifacts" / ".tmp" / "k.x", victim),
    "a link inside .staging": lambda store, victim, tmp: _link(store / "artifacts" / ".staging" / "e", victim),
    "a link inside .trash": lambda store, victim, tmp: _link(store / "artifacts" / ".trash" / "k.x", victim),
    "a link as a key (its target holds a marker)": lambda store, victim, tmp: _link(
        store / "artifacts" / ("d" * 32), victim
    ),
    "a link as a file of a key": lambda store, victim, tmp: _link(
        next((store / "artifacts").glob(f"*/{KEY_MARKER}")).parent / "extra.bin", victim / "data"
    ),
    "a link as the metadata lock": lambda store, victim, tmp: _link(store / "metadata.json.lock", victim / "data"),
    "a link as a metadata temporary file": lambda store, victim, tmp: _link(
        store / ".metadata.json.0123.tmp", victim / "data"
    ),
    "a link as a killed push's directory in the system temp": lambda store, victim, tmp: _link(
        tmp / "ebonite-push-999999999-x", victim
    ),
}


def _user_folders(artifacts: Path) -> None:
    """A user's own things beside the keys: a folder, one named like a key without a marker, old."""
    for name in ("bert-base", "e" * 32):
        (artifacts / name).mkdir(parents=True)
        (artifacts / name / "weights.bin").write_bytes(b"the user's")
        _age(artifacts / name)


OPERATIONS: list[tuple[str, Callable[[Ebonite, Path], Any]]] = [
    ("push", lambda ebnt, tmp: ebnt.create_model(ScaleModel(5.0), [1.0], "new", project_name="p", task_name="t")),
    ("load", lambda ebnt, tmp: ebnt.get_model("kept", "t", "p").predict([1.0])),
    ("verify", lambda ebnt, tmp: verify(ebnt)),
    ("gc", lambda ebnt, tmp: collect_garbage(ebnt, timedelta(0))),
    ("copy", lambda ebnt, tmp: copy_models(ebnt, Ebonite.local(tmp / "copy"))),
    ("rm", lambda ebnt, tmp: ebnt.delete_model(ebnt.get_model("removed", "t", "p"))),
    ("clear", lambda ebnt, tmp: Ebonite.local(ebnt.meta_repo.path.parent, clear=True)),
]


@pytest.mark.parametrize("plant", list(PLANTS))
def test_nothing_follows_a_link_out_of_the_store_nor_deletes_a_users_files(
    plant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Callable[..., FaultRecord]
) -> None:
    record = fault("hostile store", f"{plant}; a user's folders beside the keys (x 7 operations)", "local + local")
    victim = tmp_path / "victim"
    (victim / "folder").mkdir(parents=True)
    (victim / "folder" / "file").write_bytes(b"precious")
    (victim / "data").write_bytes(b"precious")
    (victim / KEY_MARKER).write_bytes(key_marker("d" * 32))
    _age(victim)
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    store = tmp_path / "store"
    ebnt = Ebonite.local(store)
    task = ebnt.get_or_create_task("p", "t")
    task.create_and_push_model(ScaleModel(2.0), [1.0], "kept")
    task.create_and_push_model(ScaleModel(3.0), [1.0], "removed")
    _user_folders(store / "artifacts")
    PLANTS[plant](store, victim, system_tmp)
    victim_before = tree_snapshot(victim)
    users_before = {name: tree_snapshot(store / "artifacts" / name) for name in ("bert-base", "e" * 32)}

    for name, operation in OPERATIONS:
        try:
            operation(Ebonite.local(store), tmp_path)
        except EboniteError as err:
            record.note(f"{name} refused: {type(err).__name__}")
        else:
            record.note(f"{name} done")
        record.runs += 1
        assert tree_snapshot(victim) == victim_before, f"{name} changed the victim"
        for user, before in users_before.items():
            assert tree_snapshot(store / "artifacts" / user) == before, f"{name} touched the user's {user}"
        if name in ("push", "verify", "gc", "copy"):
            assert Ebonite.local(store).get_model("kept", "t", "p").predict([1.0]) == [2.0], name
