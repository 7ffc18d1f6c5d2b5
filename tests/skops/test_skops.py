"""ebonite-skops: scikit-learn pipelines through skops, the recorded untrusted types and the allow-list."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import skops
import skops.io
from ebonite_skops import SkopsSerializer
from sklearn.compose import make_column_transformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ebonite_core import Ebonite, UnsafeModelError
from ebonite_core.testing import SerializerContract
from ebonite_core.testing.serializer import store_by_hand


def _frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"size": rng.normal(size=40), "colour": rng.choice(["red", "blue"], size=40)})
    return frame, (frame["size"] > 0).to_numpy()


def opening_poison(marker: Path) -> bytes:
    """A skops file whose loading calls ``builtins.open(marker, "w")`` if ``builtins.open`` is trusted."""
    arguments = json.loads(zipfile.ZipFile(io.BytesIO(skops.io.dumps((str(marker), "w")))).read("schema.json"))
    schema = {
        "__class__": "open",
        "__module__": "builtins",
        "__loader__": "ConstructorFromReduceNode",
        "content": arguments,
        "__id__": 1,
        "protocol": arguments["protocol"],
        "_skops_version": arguments["_skops_version"],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return buffer.getvalue()


class TestSkopsSerializer(SerializerContract):
    serializer = SkopsSerializer
    required_distributions = ("scikit-learn", "skops", "ebonite-skops", "numpy", "pandas")

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        frame, target = _frame()
        encode = make_column_transformer((OneHotEncoder(), ["colour"]), (StandardScaler(), ["size"]))
        return make_pipeline(encode, RandomForestClassifier(n_estimators=3, random_state=0)).fit(frame, target), frame

    def poisoned_files(self, marker: Path, files: dict[str, bytes]) -> list[tuple[str, dict[str, bytes]]]:
        return [*super().poisoned_files(marker, files), ("skops calling open", {"model.skops": opening_poison(marker)})]


def test_the_poison_is_live_when_its_type_is_trusted(tmp_path: Path) -> None:
    """The skops poison runs code through skops's own API when the caller trusts what the file names."""
    marker = tmp_path / "marker"
    data = opening_poison(marker)
    with pytest.raises(skops.io.exceptions.UntrustedTypesFoundException):
        skops.io.loads(data)
    skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    assert marker.exists()


def test_recorded_types_outside_the_allow_list_are_refused_until_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "marker"
    ebnt = Ebonite.local(tmp_path / "store")
    frame, target = _frame()
    pushed = ebnt.create_model(
        LogisticRegression().fit(frame[["size"]], target), frame[["size"]], "m", project_name="p", task_name="t"
    )
    assert pushed.format == {"safe": True, "details": {"untrusted_types": [], "skops_version": skops.__version__}}
    # Someone with write access stores the poison and records its type, so that skops would trust it.
    poisoned = store_by_hand(ebnt, pushed, "poisoned", {"model.skops": opening_poison(marker)}, tmp_path / "p")
    path = tmp_path / "store" / "metadata.json"
    state = json.loads(path.read_text())
    state["models"][poisoned.id]["format"]["details"]["untrusted_types"] = ["builtins.open"]
    path.write_text(json.dumps(state))
    with pytest.raises(UnsafeModelError, match=r"builtins\.open.*EBONITE_SKOPS_TRUSTED_TYPES=builtins\.open"):
        ebnt.get_model("poisoned", "t", "p").load()
    assert not marker.exists()
    # Trusting it deliberately is what lets the file call it: the allow-list is what kept it out.
    monkeypatch.setenv("EBONITE_SKOPS_TRUSTED_TYPES", "builtins.open")
    ebnt.get_model("poisoned", "t", "p").load()
    assert marker.exists()


def test_a_forest_records_the_tree_type_and_loads_where_pickle_is_refused(tmp_path: Path) -> None:
    frame, target = _frame()
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(frame[["size"]], target)
    Ebonite.local(tmp_path / "store").create_model(forest, frame[["size"]], "forest", project_name="p", task_name="t")
    loaded = Ebonite.local(tmp_path / "store", allow_pickle=False).get_model("forest", "t", "p")
    assert loaded.format["details"]["untrusted_types"] == ["sklearn.tree._tree.Tree"]
    np.testing.assert_array_equal(loaded.predict(frame[["size"]]), forest.predict(frame[["size"]]))


def test_show_and_verify_say_the_format_is_safe_and_a_missing_plugin_is_named(tmp_path: Path) -> None:
    frame, target = _frame()
    ebnt = Ebonite.local(tmp_path / ".ebonite")
    ebnt.create_model(
        LogisticRegression().fit(frame[["size"]], target), frame[["size"]], "m", project_name="p", task_name="t"
    )
    ebonite = str(Path(sys.executable).parent / "ebonite")
    shown = subprocess.run([ebonite, "show", "p/t/m"], cwd=tmp_path, capture_output=True, text=True)
    assert "format:       skops: loads without running code" in shown.stdout, shown.stderr
    verified = subprocess.run([ebonite, "verify", "--safe"], cwd=tmp_path, capture_output=True, text=True)
    assert verified.returncode == 0 and "no problems" in verified.stdout, verified.stdout + verified.stderr
    # Where the plugin is missing (here: disabled), loading names the serializer and its package.
    load = "import sys; from ebonite_core import Ebonite; Ebonite.local(sys.argv[1]).get_model('m', 't', 'p').load()"
    missing = subprocess.run(
        [sys.executable, "-c", load, str(tmp_path / ".ebonite")],
        capture_output=True,
        text=True,
        env={**os.environ, "EBONITE_DISABLE_PLUGINS": "skops"},
    )
    assert "UnknownBackendError: Unknown model serializer type 'skops'" in missing.stderr, missing.stderr
    assert "The ebonite-skops package is installed but disabled" in missing.stderr
