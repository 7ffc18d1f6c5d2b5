"""Progress reporting for transfers: a user callback, or a tqdm bar when tqdm is installed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from s3transfer.subscribers import BaseSubscriber

ProgressCallback = Callable[[str, str, int, int], None]
"""``progress(direction, object_key, transferred, total)``: ``direction`` is ``"upload"`` or ``"download"``,
``transferred`` the bytes moved so far and ``total`` the size of the object. Called from transfer threads."""


def tqdm_callback() -> ProgressCallback | None:
    """A callback drawing one tqdm bar per transfer, or ``None`` when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    bars: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def report(direction: str, object_key: str, transferred: int, total: int) -> None:
        with lock:
            bar = bars.get((direction, object_key))
            if bar is None:
                bar = bars[(direction, object_key)] = tqdm(
                    total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=f"{direction} {object_key}"
                )
            bar.update(transferred - bar.n)
            if transferred >= total:
                bar.close()
                del bars[(direction, object_key)]

    return report


class ProgressSubscriber(BaseSubscriber):
    """Adds up the bytes of one transfer and reports the running total, for transfers of at least
    ``threshold`` bytes. s3transfer calls ``on_progress`` from several threads, with negative amounts when
    a retried request rewinds."""

    def __init__(self, callback: ProgressCallback, direction: str, object_key: str, threshold: int) -> None:
        self._callback = callback
        self._direction = direction
        self._object_key = object_key
        self._threshold = threshold
        self._transferred = 0
        self._lock = threading.Lock()

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        total = future.meta.size
        if total is None or total < self._threshold:
            return
        with self._lock:
            self._transferred += bytes_transferred
            self._callback(self._direction, self._object_key, self._transferred, total)
