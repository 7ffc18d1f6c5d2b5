"""The ``crashing`` artifact repository: a real local store whose process dies after some pushes.

The first ``crash_after`` pushes of a process complete; the next one stores its files and then the process
is killed (``mode="kill"``: SIGKILL, no clean-up of any kind) or the push raises (``mode="raise"``), which is
the worst moment for a copy: artifacts stored, metadata not yet written. Open the same ``path`` with the
``local`` type afterwards to see what was left.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ebonite_core import LocalArtifactRepository, RepositoryError


class CrashingArtifactRepository(LocalArtifactRepository):
    type = "crashing"

    def __init__(self, path: str, crash_after: int, mode: str = "kill") -> None:
        super().__init__(path)
        if mode not in ("kill", "raise"):
            raise ValueError(f"mode must be 'kill' or 'raise', not {mode!r}")
        self.crash_after, self.mode, self.pushes = crash_after, mode, 0

    def config(self) -> dict[str, Any]:
        return {**super().config(), "crash_after": self.crash_after, "mode": self.mode}

    def push(self, key: str, files: Mapping[str, Path]) -> None:
        super().push(key, files)
        self.pushes += 1
        if self.pushes > self.crash_after:
            if self.mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            raise RepositoryError(f"the crashing store gave up after {self.crash_after} pushes, as configured")
