"""Creating a Model from a trained object: methods, signatures, requirements, params, names."""

from __future__ import annotations

import platform
import warnings
from datetime import timezone
from importlib.metadata import version

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression, LogisticRegression

from ebonite_core import InvalidNameError, Model, RequirementsWarning, create_model
from ebonite_core.model.signature import describe
from ebonite_core.objects import check_name
from ebonite_core.testing import ScaleModel


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=40), "y": rng.normal(size=40)})


def test_sklearn_classifier_records_methods_signatures_and_requirements(frame: pd.DataFrame) -> None:
    classifier = LogisticRegression().fit(frame, frame["x"] > 0)
    model = create_model(classifier, frame, "clf", params={"C": 1.0}, description="a classifier", serializer="pickle")
    assert set(model.methods) == {"predict", "predict_proba", "decision_function"}
    predict = model.methods["predict"]
    assert predict["input"] == {"type": "pandas.DataFrame", "columns": ["x", "y"], "dtypes": ["float64", "float64"]}
    assert predict["output"] == {"type": "numpy.ndarray", "dtype": "bool", "shape": [None]}
    assert model.methods["predict_proba"]["output"]["shape"] == [None, 2]
    assert model.requirements["scikit-learn"] == version("scikit-learn")
    assert model.requirements["numpy"] == version("numpy")
    assert "pickle" not in model.requirements and "builtins" not in model.requirements
    assert model.python_version == platform.python_version()
    assert model.serializer == "pickle"
    assert model.params == {"C": 1.0} and model.description == "a classifier"
    assert model.creation_date.tzinfo is timezone.utc
    assert model.id is None and model.artifact_key is None


def test_predict_on_a_created_model_uses_the_object_directly(frame: pd.DataFrame) -> None:
    regression = LinearRegression().fit(frame[["x"]], frame["y"])
    model = create_model(regression, frame[["x"]], "reg")
    assert list(model.methods) == ["predict"]
    np.testing.assert_array_equal(model.predict(frame[["x"]]), regression.predict(frame[["x"]]))
    with pytest.raises(ValueError, match="exposes no method 'predict_proba'"):
        model.predict_proba(frame[["x"]])


def test_numpy_inputs_record_dtype_and_shape_without_the_batch_axis() -> None:
    data = np.arange(30, dtype="float32").reshape(10, 3)
    clusters = KMeans(n_clusters=2, n_init=2, random_state=0).fit(data)
    model = create_model(clusters, data, "kmeans")
    assert set(model.methods) == {"predict", "transform"}
    assert model.methods["predict"]["input"] == {"type": "numpy.ndarray", "dtype": "float32", "shape": [None, 3]}
    assert model.methods["transform"]["output"]["shape"] == [None, 2]


def plus_one(values: list[int]) -> list[int]:
    return [value + 1 for value in values]


def test_a_plain_callable_exposes_call() -> None:
    with pytest.warns(RequirementsWarning):  # this test module is no installed distribution
        model = create_model(plus_one, [1, 2], "plus")
    assert list(model.methods) == ["__call__"]
    assert model.methods["__call__"]["output"] == {"type": "list", "item_types": ["int"]}
    assert model([1]) == [2] and model.predict([1]) == [2]


def test_explicit_methods() -> None:
    model = create_model(ScaleModel(), [1.0], "scale", methods=["predict"])
    assert list(model.methods) == ["predict"]
    with pytest.raises(ValueError, match="has no method 'transform'"):
        create_model(ScaleModel(), [1.0], "scale", methods=["transform"])


def test_an_object_without_methods_needs_them_named() -> None:
    with pytest.raises(ValueError, match=r"pass methods=\[...\]"):
        create_model(object(), [1.0], "nothing")


def test_a_sample_the_model_rejects_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"Calling predict\(\) .* on the data sample failed \(TypeError"):
        create_model(ScaleModel(), ["not", "numbers", None], "scale")


def test_an_object_that_cannot_be_pickled_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cannot be serialized with 'pickle'"):
        create_model(lambda values: values, [1], "lambda")


@pytest.mark.parametrize("params", [{"f": object()}, {"nan": float("nan")}, {1: "int key"}, ["not", "a", "dict"]])
def test_params_must_be_json_data(params: object) -> None:
    with pytest.raises(ValueError, match="params must be"):
        create_model(ScaleModel(), [1.0], "scale", params=params)  # type: ignore[arg-type]


def test_params_are_normalised_as_json() -> None:
    model = create_model(ScaleModel(), [1.0], "scale", params={"layers": (1, 2), "nested": {"a": [True, None]}})
    assert model.params == {"layers": [1, 2], "nested": {"a": [True, None]}}


def test_default_name_names_the_serializer_and_time() -> None:
    model = create_model(ScaleModel(), [1.0])
    assert model.name.startswith("pickle_model_") and model.name.endswith("Z")
    check_name(model.name)


class LocalOnly:
    """Defined in a test module, which belongs to no installed distribution."""

    def predict(self, data: list[float]) -> list[float]:
        return data


def test_modules_outside_any_distribution_are_reported() -> None:
    with pytest.warns(RequirementsWarning, match="belong to no installed distribution: test_model"):
        model = create_model(LocalOnly(), [1.0], "local")
    assert "test_model" not in model.requirements


def test_objects_from_installed_distributions_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RequirementsWarning)
        model = create_model(ScaleModel(), [1.0], "scale")
    assert model.requirements == {"ebonite-core": version("ebonite-core")}


def test_model_metadata_round_trips_through_dicts(frame: pd.DataFrame) -> None:
    model = create_model(LogisticRegression().fit(frame, frame["x"] > 0), frame, "clf", params={"a": [1]})
    copy = Model.from_dict(model.to_dict())
    assert copy == model
    copy.params["a"].append(2)
    assert model.params == {"a": [1]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, {"type": "int"}),
        ("text", {"type": "str"}),
        ([1, "a", 2.0], {"type": "list", "item_types": ["float", "int", "str"]}),
        ((1, 2), {"type": "tuple", "item_types": ["int"]}),
        (
            {"a": 1, "b": [1.0]},
            {"type": "dict", "fields": {"a": {"type": "int"}, "b": {"type": "list", "item_types": ["float"]}}},
        ),
        (pd.Series([1, 2], name="s"), {"type": "pandas.Series", "name": "s", "dtype": "int64"}),
        (np.float64(1.5), {"type": "numpy.float64", "dtype": "float64", "shape": []}),
    ],
)
def test_describe(value: object, expected: dict) -> None:
    assert describe(value) == expected


@pytest.mark.parametrize(
    "name", ["", " lead", "trail ", "a/b", "a\\b", ".", "..", "nul\x00", "tab\tinside", "x" * 256, "\x7f", 3, None]
)
def test_invalid_names(name: object) -> None:
    with pytest.raises(InvalidNameError):
        check_name(name)


@pytest.mark.parametrize("name", ["model", "My Model v2", "模型", "a.b-c_d", "x" * 255, "...", "-x", "1"])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@given(st.text(max_size=300))
def test_names_either_pass_every_rule_or_raise_invalid_name(name: str) -> None:
    try:
        check_name(name)
    except InvalidNameError:
        return
    assert 1 <= len(name) <= 255 and name.strip() == name and name not in (".", "..")
    assert "/" not in name and "\\" not in name
    assert all(ord(char) >= 32 and not 127 <= ord(char) < 160 for char in name)


def test_requirements_record_the_library_of_the_sample(frame: pd.DataFrame) -> None:
    arrays = frame[["x"]].to_numpy()
    on_arrays = LinearRegression().fit(arrays, frame["y"].to_numpy())
    pickled = create_model(on_arrays, arrays, "arrays", serializer="pickle")
    assert set(pickled.requirements) == {"numpy", "scikit-learn"}
    model = create_model(LinearRegression().fit(frame[["x"]], frame["y"]), frame[["x"]], "framed", serializer="pickle")
    assert model.requirements["pandas"] == version("pandas")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("numpy", {"numpy": version("numpy")}),
        (["Scikit_Learn", "gunicorn==23.0"], {"scikit-learn": version("scikit-learn"), "gunicorn": "23.0"}),
        ({"gunicorn": "23.0"}, {"gunicorn": "23.0"}),
    ],
)
def test_additional_requirements_are_recorded(given: object, expected: dict[str, str]) -> None:
    model = create_model(ScaleModel(), [1.0], "extra", additional_requirements=given)
    assert expected.items() <= model.requirements.items()
    assert list(model.requirements) == sorted(model.requirements)


@pytest.mark.parametrize("given", ["not-installed-anywhere", "numpy>=2", ["a b"], {"x": ""}])
def test_bad_additional_requirements_are_clear_errors(given: object) -> None:
    with pytest.raises(ValueError, match="additional_requirements"):
        create_model(ScaleModel(), [1.0], "extra", additional_requirements=given)
