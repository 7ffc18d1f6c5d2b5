"""What the reliability tests did, and the table of ``docs/reliability.md`` written from it.

Each test declares the fault it injects and the backend it runs on (:meth:`Recorder.add`), counts its runs
and notes what it saw; pytest's own report supplies the outcome. When ``EBONITE_RELIABILITY_REPORT`` names a
file, ``conftest.pytest_sessionfinish`` writes the table there (``make reliability-report`` does it for
``docs/reliability.md``); otherwise nothing is written, so that ``make test`` leaves tracked files alone.
"""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPORT_VARIABLE = "EBONITE_RELIABILITY_REPORT"

# Families in the order of the issue (docs/reliability.md keeps it).
FAMILIES = (
    "crash",
    "concurrency",
    "outage",
    "corruption",
    "hostile input",
    "disk full",
    "maintenance",
    "hostile store",
    "secrets",
)


@dataclass
class FaultRecord:
    """One fault on one backend, as one test exercised it."""

    family: str
    fault: str
    backend: str
    nodeid: str
    runs: int = 0
    notes: Counter[str] = field(default_factory=Counter)  # what was seen, e.g. {"killed while uploading": 7}
    outcome: str = "not run"

    def note(self, what: str, count: int = 1) -> None:
        self.notes[what] += count

    def describe(self) -> str:
        return "; ".join(f"{what}: {count}" for what, count in sorted(self.notes.items()))


class Recorder:
    """Every :class:`FaultRecord` of the session, and the outcome pytest reported for each test."""

    def __init__(self) -> None:
        self.records: list[FaultRecord] = []
        self.outcomes: dict[str, str] = {}

    def add(self, record: FaultRecord) -> FaultRecord:
        self.records.append(record)
        return record

    def set_outcome(self, nodeid: str, outcome: str) -> None:
        # A failed setup or teardown wins over a passed call.
        if self.outcomes.get(nodeid) not in ("failed", "error"):
            self.outcomes[nodeid] = outcome

    def finished(self) -> list[FaultRecord]:
        for record in self.records:
            record.outcome = self.outcomes.get(record.nodeid, "not run")
        order = {family: index for index, family in enumerate(FAMILIES)}
        return sorted(self.records, key=lambda record: (order.get(record.family, len(order)), record.fault))

    def render(self, command: str, summary: str) -> str:
        records = self.finished()
        lines = [
            "# Reliability report",
            "",
            "Written by the reliability suite (`tests/reliability/`) from the run described below, not by hand.",
            "Each fault was injected into every backend combination (metadata + artifacts) listed with it;",
            "*passed* means every assertion held on every run: no pushed model lost, corrupted or",
            "half-visible, a clear error wherever one was due, and the store unchanged by a refused operation.",
            "Regenerate with `make reliability-report`.",
            "",
            f"- Command: `{command}`",
            f"- Date (UTC): {datetime.now(timezone.utc):%Y-%m-%d %H:%M}",
            f"- Python {platform.python_version()} on {platform.system()} {platform.machine()}, {os.cpu_count()} cores",
            f"- Result: pytest ran {summary}. The tables count the fault/backend combinations these tests ran"
            + (f"; {self._without_faults(records)}" if self._without_faults(records) else "")
            + ".",
            "",
            "## Faults",
            "",
            "| family | fault | backends (metadata + artifacts) | runs | result |",
            "|---|---|---|---:|---|",
        ]
        groups: dict[tuple[str, str], list[FaultRecord]] = {}
        for record in records:
            groups.setdefault((record.family, record.fault), []).append(record)
        for (family, fault), group in groups.items():
            backends = "; ".join(dict.fromkeys(record.backend for record in group))
            failed = [f"{record.outcome} on {record.backend}" for record in group if record.outcome != "passed"]
            result = "passed" if not failed else "; ".join(failed)
            lines.append(_row([family, fault, backends, str(sum(record.runs for record in group)), result]))
        lines += [
            "",
            "## What the runs observed, per backend",
            "",
            "| family | fault | backend | runs | result | observed |",
            "|---|---|---|---:|---|---|",
        ]
        for record in records:
            cells = [record.family, record.fault, record.backend, str(record.runs), record.outcome, record.describe()]
            lines.append(_row(cells))
        totals = Counter(record.outcome for record in records)
        lines += [
            "",
            f"{len(groups)} fault{'s' if len(groups) != 1 else ''} on {len(records)} fault/backend combination"
            f"{'s' if len(records) != 1 else ''}, "
            f"{sum(record.runs for record in records)} runs in all: "
            + ", ".join(f"{count} {outcome}" for outcome, count in sorted(totals.items()))
            + " (each combination has the outcome of the test that ran it).",
            "",
        ]
        return "\n".join(lines)

    def _without_faults(self, records: list[FaultRecord]) -> str:
        """What to say of the tests that injected no fault (they count in pytest's total, not in the tables)."""
        recorded = {record.nodeid for record in records}
        names = [nodeid.rpartition("::")[2] for nodeid in self.outcomes if nodeid not in recorded]
        if not names:
            return ""
        return f"{len(names)} test{'s' if len(names) > 1 else ''} injected none ({', '.join(names)})"

    def write(self, path: Path, summary: str) -> None:
        command = (
            "EBONITE_RELIABILITY_REPORT=" + os.environ.get(REPORT_VARIABLE, "") + " pytest " + " ".join(sys.argv[1:])
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.render(command.strip(), summary), encoding="utf-8")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


RECORDER = Recorder()
"""The session's recorder: a module-level object so that conftest's hooks and fixtures share it."""
