"""The optimiser of the ResNet papers, for notebook 07's CIFAR-style runs."""

from __future__ import annotations

import torch
from torch import nn


def paper_sgd(
    net: nn.Module, lr: float, *, momentum: float = 0.9, weight_decay: float = 1e-4
) -> torch.optim.SGD:
    """SGD with momentum and weight decay (He et al. 2016: 0.9 and 1e-4), the decay on every
    parameter but PReLU slopes, which He et al. (2015) do not decay."""
    if lr <= 0:
        raise ValueError(f"lr: expected a positive learning rate, got {lr}")
    slopes = [m.weight for m in net.modules() if isinstance(m, nn.PReLU)]
    rest = [p for p in net.parameters() if all(p is not s for s in slopes)]
    groups = [{"params": rest, "weight_decay": weight_decay}]
    if slopes:
        groups.append({"params": slopes, "weight_decay": 0.0})
    return torch.optim.SGD(groups, lr=lr, momentum=momentum)
