"""A module that follows this plugin's convention, for the documentation, the tests and the benchmark."""

from __future__ import annotations

import itertools

import torch


class MLP(torch.nn.Module):
    """``layers`` linear layers of ``width`` units with ReLUs between them, from ``inputs`` to ``outputs``.

    ``ebonite_init_kwargs`` holds the constructor's arguments: what the torch serializer records to build
    the class again at load.
    """

    def __init__(self, inputs: int = 4, width: int = 8, outputs: int = 2, layers: int = 2) -> None:
        super().__init__()
        self.ebonite_init_kwargs = {"inputs": inputs, "width": width, "outputs": outputs, "layers": layers}
        sizes = [inputs] + [width] * (layers - 1) + [outputs]
        blocks: list[torch.nn.Module] = []
        for index, (size_in, size_out) in enumerate(itertools.pairwise(sizes)):
            blocks.append(torch.nn.Linear(size_in, size_out))
            if index < layers - 1:
                blocks.append(torch.nn.ReLU())
        self.net = torch.nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
