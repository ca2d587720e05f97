"""A three-layer ConvNet built from ``coursecnn.ops`` alone, trained with plain SGD (notebook 04).

The architecture of cs231n's ``ThreeLayerConvNet``, with torch's weight layout:

    conv K x K (F filters, stride 1, padding (K-1)//2) - ReLU - 2x2 max pool
    - linear (hidden units) - ReLU - linear (classes) - softmax cross-entropy

``params`` is a dict of float arrays: ``W1 (F, C, K, K)``, ``b1 (F,)``,
``W2 (hidden, F * H//2 * W//2)``, ``b2 (hidden,)``, ``W3 (classes, hidden)``, ``b3 (classes,)``.
``loss_and_grads`` is the forward and backward pass, ``sgd_step`` the update, ``to_torch`` the
same network as an ``nn.Sequential`` holding copies of the same weights, so that the two can be
trained side by side and compared step by step.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from coursecnn import ops

__all__ = ["PARAM_NAMES", "init_params", "loss_and_grads", "logits", "predict", "sgd_step",
           "to_torch"]  # fmt: skip

PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def init_params(
    image_shape: tuple[int, int, int] = (1, 28, 28),
    filters: int = 8,
    kernel_size: int = 5,
    hidden: int = 100,
    classes: int = 10,
    rng: np.random.Generator | None = None,
    dtype: type = np.float64,
    output_scale: float = 0.1,
) -> dict[str, np.ndarray]:
    """He-normal weights (std ``sqrt(2 / fan_in)``, for ReLU units) and zero biases; the output
    layer's weights are scaled by ``output_scale``, so that the first scores are small and nearly
    equal and the first loss is near ``log(classes)``.

    image_shape: ``(C, H, W)`` of one input image; the pooled map is ``F x H//2 x W//2``.
    """
    c, h, w = image_shape
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size: expected a positive odd integer, got {kernel_size!r}")
    if h < 2 or w < 2:
        raise ValueError(f"image_shape: expected H and W of 2 or more, got {image_shape!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    flat = filters * (h // 2) * (w // 2)

    def he(shape: tuple[int, ...], fan_in: int) -> np.ndarray:
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)

    return {
        "W1": he((filters, c, kernel_size, kernel_size), c * kernel_size**2),
        "b1": np.zeros(filters, dtype=dtype),
        "W2": he((hidden, flat), flat),
        "b2": np.zeros(hidden, dtype=dtype),
        "W3": (output_scale * he((classes, hidden), hidden)).astype(dtype),
        "b3": np.zeros(classes, dtype=dtype),
    }


def _forward(params: dict[str, np.ndarray], x: np.ndarray):
    w1 = params["W1"]
    pad = (w1.shape[2] - 1) // 2
    a1 = ops.conv2d(x, w1, params["b1"], padding=pad)  # (N, F, H, W)
    r1 = ops.relu(a1)
    p1 = ops.max_pool2d(r1, 2)  # (N, F, H//2, W//2)
    flat = p1.reshape(len(x), -1)  # (N, F*H//2*W//2), torch's flatten order
    a2 = ops.linear(flat, params["W2"], params["b2"])  # (N, hidden)
    r2 = ops.relu(a2)
    scores = ops.linear(r2, params["W3"], params["b3"])  # (N, classes)
    return scores, (x, pad, a1, r1, p1, flat, a2, r2)


def logits(params: dict[str, np.ndarray], x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class scores ``(N, classes)`` for images ``x: (N, C, H, W)``, ``batch_size`` at a time."""
    return np.concatenate(
        [_forward(params, x[i : i + batch_size])[0] for i in range(0, len(x), batch_size)]
    )


def predict(params: dict[str, np.ndarray], x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Predicted classes ``(N,)``: the argmax of the scores."""
    return logits(params, x, batch_size).argmax(axis=1)


def loss_and_grads(
    params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of the batch ``x: (N, C, H, W)``, ``y: (N,)`` and its gradients,
    ``{name: dL/d params[name]}`` (each of its parameter's shape)."""
    scores, (x, pad, a1, r1, p1, flat, a2, r2) = _forward(params, x)
    loss = ops.cross_entropy(scores, y)
    d_scores = ops.cross_entropy_backward(1.0, scores, y)
    d_r2, d_w3, d_b3 = ops.linear_backward(d_scores, r2, params["W3"])
    d_a2 = ops.relu_backward(d_r2, a2)
    d_flat, d_w2, d_b2 = ops.linear_backward(d_a2, flat, params["W2"])
    d_r1 = ops.max_pool2d_backward(d_flat.reshape(p1.shape), r1, 2)
    d_a1 = ops.relu_backward(d_r1, a1)
    _, d_w1, d_b1 = ops.conv2d_backward(d_a1, x, params["W1"], padding=pad)
    grads = {"W1": d_w1, "b1": d_b1, "W2": d_w2, "b2": d_b2, "W3": d_w3, "b3": d_b3}
    return loss, grads


def sgd_step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float) -> None:
    """Plain SGD, in place: ``p -= lr * dL/dp`` for every parameter (``torch.optim.SGD``)."""
    for name in PARAM_NAMES:
        params[name] -= lr * grads[name]


def to_torch(params: dict[str, np.ndarray]) -> nn.Sequential:
    """The same network as an ``nn.Sequential`` (torch's layers, copies of these weights, the
    dtype of ``W1``): Conv2d, ReLU, MaxPool2d(2), Flatten, Linear, ReLU, Linear."""
    w1 = params["W1"]
    f, c, k, _ = w1.shape
    hidden, flat = params["W2"].shape
    net = nn.Sequential(
        nn.Conv2d(c, f, k, padding=(k - 1) // 2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(flat, hidden),
        nn.ReLU(),
        nn.Linear(hidden, params["W3"].shape[0]),
    )
    dtype = torch.float64 if w1.dtype == np.float64 else torch.float32
    net.to(dtype)
    with torch.no_grad():
        for layer, (w, b) in zip(
            (net[0], net[4], net[6]), (("W1", "b1"), ("W2", "b2"), ("W3", "b3")), strict=True
        ):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(params[w])))
            layer.bias.copy_(torch.from_numpy(np.ascontiguousarray(params[b])))
    return net
