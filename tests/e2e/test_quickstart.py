"""The quickstart as users run it: push in one process, load and predict in another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"


def run_quickstart(python: str, cwd: Path) -> str:
    result = subprocess.run([python, str(QUICKSTART)], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def check_store(cwd: Path) -> None:
    document = json.loads((cwd / ".ebonite" / "metadata.json").read_text())
    assert [project["name"] for project in document["projects"].values()] == ["my_project"]
    assert [task["name"] for task in document["tasks"].values()] == ["regression_is_my_profession"]
    [model] = document["models"].values()
    assert model["name"] == "mymodel"
    assert "scikit-learn" in model["requirements"]
    # pickle with the core alone; skops where ebonite-skops is installed (as in the test environment)
    assert model["serializer"] in ("pickle", "skops")
    for artifact in model["artifacts"]:
        assert (cwd / ".ebonite" / "artifacts" / model["artifact_key"] / artifact["name"]).is_file()


def test_quickstart_pushes_then_loads_in_a_second_process(tmp_path: Path) -> None:
    output = run_quickstart(sys.executable, tmp_path)
    assert "same predictions: True" in output
    check_store(tmp_path)


def test_quickstart_runs_again_on_the_same_store(tmp_path: Path) -> None:
    run_quickstart(sys.executable, tmp_path)
    assert "same predictions: True" in run_quickstart(sys.executable, tmp_path)
    check_store(tmp_path)


def test_a_model_pushed_here_loads_in_a_fresh_interpreter(tmp_path: Path) -> None:
    from ebonite_core import Ebonite
    from ebonite_core.testing import ScaleModel

    Ebonite.local(tmp_path / "store").create_model(ScaleModel(4.0), [1.0], "scale", project_name="p", task_name="t")
    code = (
        "import sys; from ebonite_core import Ebonite; "
        "m = Ebonite.local(sys.argv[1]).get_model('scale', 't', 'p'); print(m.predict([1.0, 2.5]))"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path / "store")], capture_output=True, text=True)
    assert result.stdout.strip() == "[4.0, 10.0]", result.stderr
