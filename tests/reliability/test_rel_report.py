"""The report's counts say what they count: pytest's tests in the header, fault/backend combinations below."""

from __future__ import annotations

from rel_report import FaultRecord, Recorder


def test_the_header_and_the_footer_explain_their_counts() -> None:
    recorder = Recorder()
    recorder.add(FaultRecord("crash", "SIGKILL during a push", "local + local", "test_rel_crash.py::test_kill[a]"))
    recorder.add(FaultRecord("crash", "SIGKILL during a push", "sqlite + local", "test_rel_crash.py::test_kill[b]"))
    for nodeid in ("test_rel_crash.py::test_kill[a]", "test_rel_crash.py::test_kill[b]", "test_x.py::test_names"):
        recorder.set_outcome(nodeid, "passed")
    lines = recorder.render("pytest tests/reliability", "3 tests: 3 passed").splitlines()
    assert (
        "- Result: pytest ran 3 tests: 3 passed. The tables count the fault/backend combinations these tests ran; "
        "1 test injected none (test_names)." in lines
    )
    assert (
        "1 fault on 2 fault/backend combinations, 0 runs in all: 2 passed (each combination has the outcome of the "
        "test that ran it)." in lines
    )
