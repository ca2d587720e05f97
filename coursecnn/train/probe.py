"""Few labels: a stratified labelled subset, and a linear probe on frozen features.

few_labels(labels, per_class, seed)   indices of ``per_class`` images of every class; for one
                                      seed the subsets are nested (10 a class lie inside 100)
linear_probe(features, labels, test_features, test_labels)
                                      multinomial logistic regression, trained to convergence,
                                      and its test accuracy
principal_components(x, k)            PCA: the mean and the k axes of largest variance, the
                                      best linear code of k numbers (and 2-D projections)

The probe minimises ``sum_i cross_entropy_i + 0.5 * C^-1 * ||W||^2`` (no penalty on the bias),
the objective of scikit-learn's ``LogisticRegression`` (``C=1`` by default), with L-BFGS as
scikit-learn does. Being convex, it has one minimum: the result measures the features, not
how long a run was. Features are standardised first (mean 0, standard deviation 1 each) with
``mean`` and ``std`` when given (e.g. those of all the unlabelled images), else with those of
the training features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from coursecnn.train._batches import pick_device


def few_labels(labels: Any, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of ``per_class`` examples of every class in ``labels`` (N,), sorted by class.

    The examples are the first ``per_class`` of each class in one seeded permutation, so for a
    fixed ``seed`` a smaller subset lies inside a larger one. Every class needs ``per_class``.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels: expected a 1-D integer array (N,), got shape {labels.shape}, "
            f"dtype {labels.dtype}"
        )
    if isinstance(per_class, bool) or not isinstance(per_class, int | np.integer) or per_class < 1:
        raise ValueError(f"per_class: expected a positive integer, got {per_class!r}")
    order = np.random.default_rng(seed).permutation(len(labels))
    chosen = []
    for c in np.unique(labels):
        of_c = order[labels[order] == c]
        if len(of_c) < per_class:
            raise ValueError(
                f"per_class: expected at most {len(of_c)} (the examples of class {c}), "
                f"got {per_class}"
            )
        chosen.append(of_c[:per_class])
    return np.concatenate(chosen).astype(np.int64)


def principal_components(x: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """PCA of ``x`` (N, D): its mean (D,) and its first ``k`` principal axes (k, D), largest
    variance first, each of length 1; ``(x - mean) @ axes.T`` are the k-number codes.

    Computed from the eigenvectors of the D x D covariance matrix (``np.linalg.eigh``), cheaper
    than an SVD of x when N is much larger than D. Each axis's sign is fixed so that its
    largest-magnitude entry is positive.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"x: expected a 2-D array (N, D) with N >= 2, got shape {x.shape}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= x.shape[1]:
        raise ValueError(f"k: expected an integer from 1 to {x.shape[1]}, got {k!r}")
    mean = x.mean(axis=0)
    centred = x - mean
    values, vectors = np.linalg.eigh(centred.T @ centred / (len(x) - 1))
    axes = vectors[:, np.argsort(values)[::-1][:k]].T
    flip = np.sign(axes[np.arange(k), np.abs(axes).argmax(axis=1)])
    return mean, axes * flip[:, None]


@dataclass
class ProbeResult:
    """``linear_probe``'s result: test accuracy in [0, 1], the training objective per example
    at the solution, the L-BFGS iterations, and the trained ``nn.Linear`` (on standardised
    features)."""

    accuracy: float
    train_loss: float
    iterations: int
    model: nn.Linear


def _as_features(name: str, value: Any) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(value, dtype=np.float64))
    if t.ndim != 2:
        raise ValueError(f"{name}: expected a 2-D array (N, D), got shape {tuple(t.shape)}")
    return t


def linear_probe(
    features: Any,
    labels: Any,
    test_features: Any,
    test_labels: Any,
    *,
    C: float = 1.0,
    mean: Any = None,
    std: Any = None,
    max_iter: int = 500,
    seed: int = 0,
    device: str | torch.device | None = "cpu",
) -> ProbeResult:
    """Logistic regression on ``features`` (N, D) with ``labels`` (N,); accuracy on the test set.

    C: inverse strength of the L2 penalty on the weights (scikit-learn's meaning). The classes
    are ``0 .. max(labels, test_labels)``. Runs in float64 on ``device`` (the CPU by default;
    None picks the best one here; MPS, which has no float64, falls back to the CPU); the
    returned model is float32 on the CPU.
    """
    x, xt = _as_features("features", features), _as_features("test_features", test_features)
    y = torch.as_tensor(np.asarray(labels)).long()
    yt = torch.as_tensor(np.asarray(test_labels)).long()
    if y.shape != (len(x),):
        raise ValueError(f"labels: expected shape ({len(x)},), got {tuple(y.shape)}")
    if yt.shape != (len(xt),):
        raise ValueError(f"test_labels: expected shape ({len(xt)},), got {tuple(yt.shape)}")
    if xt.shape[1] != x.shape[1]:
        raise ValueError(
            f"test_features: expected {x.shape[1]} features per row like features, "
            f"got shape {tuple(xt.shape)}"
        )
    if not C > 0:
        raise ValueError(f"C: expected a positive number, got {C!r}")
    mu = x.mean(0) if mean is None else torch.as_tensor(np.asarray(mean, dtype=np.float64))
    sd = x.std(0) if std is None else torch.as_tensor(np.asarray(std, dtype=np.float64))
    sd = torch.where(sd > 1e-8, sd, torch.ones_like(sd))  # constant features stay constant
    dev = pick_device(device)
    if dev.type == "mps":  # MPS has no float64
        dev = torch.device("cpu")
    x, xt = ((x - mu) / sd).to(dev), ((xt - mu) / sd).to(dev)
    y, yt = y.to(dev), yt.to(dev)

    torch.manual_seed(seed)
    num_classes = int(max(y.max(), yt.max())) + 1
    model = nn.Linear(x.shape[1], num_classes).double().to(dev)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    opt = torch.optim.LBFGS(
        model.parameters(),
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=1e-7,
        tolerance_change=1e-10,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def objective() -> torch.Tensor:
        return (
            nn.functional.cross_entropy(model(x), y, reduction="sum")
            + 0.5 / C * model.weight.pow(2).sum()
        )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = objective()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        train_loss = objective().item() / len(x)
        accuracy = (model(xt).argmax(1) == yt).double().mean().item()
    iterations = int(opt.state[opt._params[0]].get("n_iter", 0))
    return ProbeResult(accuracy, train_loss, iterations, model.float().cpu())


__all__ = ["ProbeResult", "few_labels", "linear_probe", "principal_components"]
