"""The backend author's guide: every code block is checked, and every hook and interface method is in it.

Blocks that start with ``# file: PATH`` must appear verbatim in that file; ``python`` blocks without one run,
in order, as one script in a fresh directory; ``console`` blocks run their ``$`` commands; ``text`` blocks
list files that must exist.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 has the tomli backport instead
    import tomli as tomllib

import pytest

from ebonite_core import hookspecs
from ebonite_core.interfaces import ModelSerializer
from ebonite_core.repository import ArtifactRepository, MetadataRepository
from ebonite_core.repository.records import RecordMetadataRepository

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "writing-a-backend.md"
EXAMPLE = ROOT / "examples" / "ebonite-example-backend"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(GUIDE.read_text()) if lang == language]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def test_the_readme_links_the_guide() -> None:
    assert "docs/writing-a-backend.md" in (ROOT / "README.md").read_text()


def test_every_block_has_a_known_language() -> None:
    languages = {lang for lang, _ in BLOCK.findall(GUIDE.read_text())}
    assert languages <= {"python", "toml", "console", "text"}


@pytest.mark.parametrize(
    "block",
    [body for lang, body in BLOCK.findall(GUIDE.read_text()) if body.startswith("# file: ")],
    ids=lambda body: body.splitlines()[0][len("# file: ") :],
)
def test_quoted_files_match_the_repository(block: str) -> None:
    header, _, body = block.partition("\n")
    path = ROOT / header[len("# file: ") :]
    wanted, actual = _lines(body), _lines(path.read_text())
    starts = [index for index, line in enumerate(actual) if line == wanted[0]]
    assert any(actual[start : start + len(wanted)] == wanted for start in starts), f"the guide's {path} is stale"


def test_python_examples_run(tmp_path: Path) -> None:
    script = "\n\n".join(body for body in blocks("python") if not body.startswith("# file: "))
    (tmp_path / "guide.py").write_text(script)
    result = subprocess.run([sys.executable, "guide.py"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_file_trees_exist() -> None:
    for block in blocks("text"):
        lines = block.splitlines()
        base = ROOT / lines[0].strip().rstrip("/")
        stack: list[tuple[int, Path]] = [(-1, base)]
        for line in lines[1:]:
            indent = len(line) - len(line.lstrip())
            while stack[-1][0] >= indent:
                stack.pop()
            path = stack[-1][1] / line.strip().rstrip("/")
            assert path.exists(), path
            stack.append((indent, path))


def test_console_commands_work() -> None:
    commands = [line[2:] for body in blocks("console") for line in body.splitlines() if line.startswith("$ ")]
    assert commands, "the guide shows how to install, test and list plugins"
    for command in commands:
        if command.startswith("pip install -e '.[test]'"):
            assert "test = [" in (EXAMPLE / "pyproject.toml").read_text()
        elif command.startswith("pytest "):
            # This suite runs those very tests (and fails if they fail): running them again here would only
            # take the time twice.
            testpaths = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
            wanted = [(EXAMPLE / part).relative_to(ROOT).as_posix() for part in command.split()[1:]]
            assert set(wanted) <= set(testpaths["testpaths"]), wanted
        elif command == "ebonite plugins":
            result = subprocess.run(
                [Path(sys.executable).parent / "ebonite", "plugins"], capture_output=True, text=True
            )
            assert result.returncode == 0 and "ebonite-example-backend" in result.stdout
        else:
            raise AssertionError(f"the guide shows a command this test does not check: {command}")


def test_every_hook_is_documented_and_used_by_a_test() -> None:
    guide = GUIDE.read_text()
    hooks = [name for name, value in vars(hookspecs).items() if name.startswith("ebonite_") and callable(value)]
    assert len(hooks) >= 3
    test_sources = "\n".join(path.read_text() for path in (ROOT / "tests").rglob("*.py"))
    for hook in hooks:
        assert f"`{hook}()`" in guide, hook
        assert f"def {hook}(" in test_sources, f"no test plugin implements {hook}"


@pytest.mark.parametrize(
    "interface", [MetadataRepository, RecordMetadataRepository, ArtifactRepository, ModelSerializer]
)
def test_every_interface_method_is_documented(interface: type) -> None:
    guide = GUIDE.read_text()
    methods = [
        name
        for name, member in inspect.getmembers(interface)
        if not name.startswith("_") and callable(member) and name not in ("mro",)
    ]
    assert methods
    missing = [name for name in methods if f"`{name}(" not in guide and f"`{name}`" not in guide]
    assert missing == [], f"{interface.__name__} methods missing from the guide: {missing}"


def test_every_section_using_the_contract_suites_says_they_need_the_testing_extra() -> None:
    """``ebonite_core.testing`` imports pytest and hypothesis: wherever the guide uses it, it names the extra."""
    sections = re.split(r"^## ", GUIDE.read_text(), flags=re.M)[1:]
    using = [section for section in sections if "from ebonite_core.testing import" in section]
    assert using
    for section in using:
        assert "ebonite-core[testing]" in section, section.splitlines()[0]


def test_the_s3_readme_quotes_the_memory_figures_of_the_performance_report() -> None:
    report = (ROOT / "docs" / "performance.md").read_text()
    figures = {
        who: re.search(rf"^\s*{who}\s+baseline .*?: (\+[\d.]+ MiB)", report, re.M) for who in ("repository", "boto3")
    }
    assert all(figures.values()), "docs/performance.md has the S3 peak-memory lines"
    readme = " ".join((ROOT / "plugins" / "ebonite-s3" / "README.md").read_text().split())
    assert f"by {figures['repository'].group(1)}, against {figures['boto3'].group(1)} for plain boto3" in readme


def test_the_performance_report_shows_paths_relative_to_the_repository() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from run_all import relative_paths
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert relative_paths(f"store on {ROOT}/ebonite-large-x/store, run in {ROOT}") == (
        "store on ebonite-large-x/store, run in ."
    )
    absolute = re.findall(r"(?:^|[\s(`'\"=])(/[\w.-]+/[\w./-]+)", (ROOT / "docs" / "performance.md").read_text(), re.M)
    assert absolute == [], "docs/performance.md shows paths of the machine it ran on"
