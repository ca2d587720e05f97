"""fit_same_batches trains variants on the same batches and says so; Spread; paper_sgd."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from coursecnn.train import Spread, TensorLoader, fit, fit_same_batches, paper_sgd, seed_everything


def data(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 1, 4, 4, generator=g), torch.randint(0, 3, (n,), generator=g)


def linear(seed: int, lr: float = 0.1):
    def build():
        seed_everything(seed)
        net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
        return net, torch.optim.SGD(net.parameters(), lr=lr)

    return build


def test_runs_share_the_batches_and_equal_a_plain_fit() -> None:
    x, y = data()
    loader = TensorLoader(x, y, 16, shuffle=True, seed=0)
    out = fit_same_batches(
        {"a": linear(0), "b": linear(1)}, loader, epochs=2, seed=3, progress=False
    )
    assert list(out.histories) == ["a", "b"] and out.steps == 8 and not out.diverged
    assert out.digest == out.histories["a"].data_digest == out.histories["b"].data_digest
    net, sgd = linear(0)()
    alone = fit(net, loader, epochs=2, optimizer=sgd, seed=3, progress=False)
    assert alone.train_loss == out.histories["a"].train_loss
    assert torch.equal(net[1].weight, out.nets["a"][1].weight)


def test_different_batches_are_refused() -> None:
    class TwoLoaders:  # each pass over it hands out another data set
        def __init__(self) -> None:
            self.calls = 0

        def __len__(self) -> int:
            return 4

        def __iter__(self):
            self.calls += 1
            x, y = data(seed=self.calls)
            return iter(TensorLoader(x, y, 16))

    with pytest.raises(AssertionError, match="different batches"):
        fit_same_batches({"a": linear(0), "b": linear(0)}, TwoLoaders(), epochs=1, progress=False)


def test_divergence_is_recorded_only_when_allowed() -> None:
    x, y = data()
    x[0, 0, 0, 0] = float("inf")  # the loss is not finite from the first batch on
    loader = TensorLoader(x, y, 16)
    variants = {"bad": linear(0), "also bad": linear(1)}
    with pytest.raises(FloatingPointError):
        fit_same_batches(variants, loader, epochs=1, progress=False)
    out = fit_same_batches(variants, loader, epochs=1, progress=False, allow_divergence=True)
    assert set(out.diverged) == {"bad", "also bad"} and not out.histories and out.digest == ""


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"variants": {}, "epochs": 1}, "variants: expected at least one"),
     ({"variants": {"a": linear(0)}, "epochs": 0}, "epochs: expected a positive")],
)  # fmt: skip
def test_bad_arguments_name_themselves(kwargs: dict, words: str) -> None:
    x, y = data()
    with pytest.raises(ValueError, match=words):
        fit_same_batches(loader=TensorLoader(x, y, 16), **kwargs)


def test_spread() -> None:
    s = Spread.of([1.0, 2.0, 4.0])
    assert (s.low, s.high) == (1.0, 4.0)
    assert math.isclose(s.mean, 7 / 3) and math.isclose(
        s.std, torch.tensor([1.0, 2, 4]).std(unbiased=False).item(), rel_tol=1e-6
    )
    with pytest.raises(ValueError, match="values: expected at least one value"):
        Spread.of([])


def test_paper_sgd_decays_all_but_prelu_slopes() -> None:
    net = nn.Sequential(nn.Linear(3, 3), nn.PReLU(3), nn.Linear(3, 2))
    sgd = paper_sgd(net, 0.1)
    decay = {id(p): g["weight_decay"] for g in sgd.param_groups for p in g["params"]}
    assert decay[id(net[1].weight)] == 0.0
    assert [decay[id(p)] for n, p in net.named_parameters() if n != "1.weight"] == [1e-4] * 4
    assert all(g["momentum"] == 0.9 and g["lr"] == 0.1 for g in sgd.param_groups)
    assert len(paper_sgd(nn.Linear(2, 2), 0.1).param_groups) == 1
    with pytest.raises(ValueError, match="lr: expected a positive"):
        paper_sgd(net, 0.0)
