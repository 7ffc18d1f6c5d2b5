"""ebonite-torch: modules as safetensors weights plus an importable class, loaded without unpickling."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch
from ebonite_torch import TorchSerializer
from ebonite_torch.examples import MLP
from ebonite_torch.serializer import read_safetensors, write_safetensors

from ebonite_core import ArtifactIntegrityError, Ebonite, UnsafeModelError, create_model
from ebonite_core.testing import SerializerContract
from ebonite_core.testing.serializer import MarkerPayload


class TestTorchSerializer(SerializerContract):
    serializer = TorchSerializer
    required_distributions = ("torch", "ebonite-torch")

    @pytest.fixture
    def sample(self) -> tuple[Any, Any]:
        torch.manual_seed(0)
        return MLP(inputs=3, width=5, outputs=2, layers=3).eval(), torch.randn(4, 3)

    def poisoned_files(self, marker: Path, files: dict[str, bytes]) -> list[tuple[str, dict[str, bytes]]]:
        saved = io.BytesIO()
        torch.save({"weights": MarkerPayload(marker)}, saved)  # torch.load(weights_only=False) would run it
        return [*super().poisoned_files(marker, files), ("torch.save", {"weights.safetensors": saved.getvalue()})]


def test_files_are_safetensors_both_ways(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = MLP(inputs=2, width=3)
    path = tmp_path / "w.safetensors"
    with open(path, "wb") as file:
        write_safetensors(net.state_dict(), file)
    reference = safetensors.torch.load_file(path)  # the reference reader takes our file...
    assert all(torch.equal(reference[name], value) for name, value in net.state_dict().items())
    other = MLP(inputs=2, width=3)
    safetensors.torch.save_file({name: value + 1 for name, value in net.state_dict().items()}, path)
    with open(path, "rb") as file:  # ...and we take the reference writer's
        read_safetensors(file, other.state_dict(keep_vars=True))
    assert all(torch.equal(other.state_dict()[name], value + 1) for name, value in net.state_dict().items())


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda data: data[:-4], "ends early"),
        (lambda data: data + b"x", "bytes after its last tensor"),
        (lambda data: (10**9).to_bytes(8, "little") + data[8:], "claims"),
        (lambda data: data.replace(b'"F32"', b'"F16"', 1), "does not match the module"),
    ],
)
def test_malformed_weights_are_refused(tamper: Any, message: str) -> None:
    net = MLP(inputs=2, width=3)
    buffer = io.BytesIO()
    write_safetensors(net.state_dict(), buffer)
    with pytest.raises(ValueError, match=message):
        read_safetensors(io.BytesIO(tamper(buffer.getvalue())), MLP(inputs=2, width=3).state_dict(keep_vars=True))


class Tied(torch.nn.Module):
    """Two layers sharing one weight, built without arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
        self.second.weight = self.first.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


def test_a_module_that_cannot_be_rebuilt_goes_to_pickle_or_is_refused_when_asked_for(tmp_path: Path) -> None:
    net = MLP(inputs=2, width=3)
    del net.ebonite_init_kwargs  # the constructor's defaults build another layout
    assert create_model(net, torch.randn(1, 2), "net").serializer == "pickle"
    assert create_model(torch.nn.Sequential(torch.nn.Linear(2, 2)), torch.randn(1, 2), "seq").serializer == "pickle"
    with pytest.raises(ValueError, match="ebonite_init_kwargs"):
        Ebonite.local(tmp_path).create_model(net, torch.randn(1, 2), "net", serializer="torch")
    assert Ebonite.local(tmp_path).get_models("default_task", "default_project") == []


@pytest.mark.filterwarnings("ignore::ebonite_core.RequirementsWarning")  # Tied lives in this test module
def test_tied_weights_stay_tied_and_training_mode_comes_back(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = Tied()
    Ebonite.local(tmp_path).create_model(net, torch.randn(2, 3), "tied", project_name="p", task_name="t")
    loaded = Ebonite.local(tmp_path, allow_pickle=False).get_model("tied", "t", "p").load().object
    assert loaded.second.weight is loaded.first.weight and loaded.training
    assert torch.equal(loaded.first.weight, net.first.weight)


def test_metadata_naming_something_else_than_a_module_is_refused(tmp_path: Path) -> None:
    ebnt = Ebonite.local(tmp_path)
    model = ebnt.create_model(MLP(), torch.randn(1, 4), "net", project_name="p", task_name="t")
    serializer = TorchSerializer()
    for module, name in [("subprocess", "Popen"), ("os", "system"), ("__main__", "MLP"), ("x;y", "z")]:
        with pytest.raises(UnsafeModelError):
            serializer.load(lambda _: io.BytesIO(), {**model.format["details"], "module": module, "class": name})


@pytest.mark.parametrize("tamper", [lambda data: data[:-1] + bytes([data[-1] ^ 1]), lambda data: data[:-8]])
def test_weights_changed_behind_the_metadata_are_refused_though_read_while_verified(
    tmp_path: Path, tamper: Any
) -> None:
    """The torch serializer reads while the client hashes (load_while_verifying): a changed file still fails."""
    ebnt = Ebonite.local(tmp_path)
    pushed = ebnt.create_model(MLP(), torch.randn(1, 4), "net", project_name="p", task_name="t")
    path = ebnt.artifact_repo.root / pushed.artifact_key / "weights.safetensors"
    path.write_bytes(tamper(path.read_bytes()))
    with pytest.raises(ArtifactIntegrityError, match=r"'weights\.safetensors' of model 'net'"):
        Ebonite.local(tmp_path).get_model("net", "t", "p").load()
