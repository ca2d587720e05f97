"""Graded checks of notebook 05, LeNet.

References are real models: parameter counts come from ``coursecnn.models.mlp`` and torch's
own ``parameters()``, accuracies from ``coursecnn.train.evaluate``. Each check also computes what
the classic mistakes give (biases counted as weights, the output layer forgotten, max pooling
where LeNet-5 averages, ...) so that a failure can name the mistake it recognises.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from coursecnn.checks._guard import (
    BUILD_MODULE,
    ForbiddenCall,
    declare,
)
from coursecnn.checks._remote import observe, observer
from coursecnn.checks._report import as_ints, call_student, fail, not_answered, passed
from coursecnn.models.provenance import made_by_course

__all__ = [
    "check_mlp_param_count",
    "check_lenet5",
    "check_accuracy",
    "check_train_loop",
    "check_test_accuracy",
    "LENET5_PARAMS",
]

#: LeNet-5 with full C3 connections and parameter-free average pooling, 28x28 input padded by 2.
LENET5_PARAMS = 61_706


def _mlp_counts(input_size: int, hidden: tuple[int, ...], num_classes: int) -> tuple[int, int]:
    """(weights, biases) of ``coursecnn.models.mlp``, counted from its parameters."""
    from coursecnn.models import mlp

    model = mlp(input_size=input_size, hidden=hidden, num_classes=num_classes)
    weights = sum(p.numel() for p in model.parameters() if p.ndim > 1)
    biases = sum(p.numel() for p in model.parameters() if p.ndim == 1)
    return weights, biases


def _as_pair(check: str, got: Any, expected: tuple[int, int], case: str) -> tuple[int, int]:
    if not isinstance(got, tuple | list) or len(got) != 2:
        fail(
            check,
            f"{case}: a pair (weights, biases) = {expected}",
            got,
            "return two numbers, `return weights, biases`",
        )
    return as_ints(check, got, expected, case, count=2)


def check_mlp_param_count(func: Callable[..., Any]) -> None:
    """``func(input_size, hidden, num_classes) -> (weights, biases)`` of a greyscale MLP."""
    check = "mlp_param_count"
    cases = [
        (32, (512, 256), 10),  # seed 004: 657,920 weights; 778 biases (the seed says 1,802)
        (9, (20, 20), 10),  # seed 001: 600 + 20 * 9**2 = 2,220 weights
        (28, (100,), 10),
        (5, (), 3),
    ]
    for input_size, hidden, k in cases:
        case = f"mlp_param_count({input_size}, {hidden}, {k})"
        expected = _mlp_counts(input_size, hidden, k)
        got = _as_pair(
            check, call_student(check, func, input_size, list(hidden), k), expected, case
        )
        if got == expected:
            continue
        w, b = expected
        widths = [input_size**2, *hidden, k]
        no_out_w = sum(a * c for a, c in zip(widths[:-2], widths[1:-1], strict=True))
        lin_in_w = sum(a * c for a, c in zip([input_size, *hidden], [*hidden, k], strict=True))
        mistakes = [
            ((w + b, b), "the biases are counted twice: once inside the weights, once alone"),
            ((w + b, 0), "the biases are counted as weights; report them separately"),
            ((w, 0), "the biases are missing: each layer has one bias per output unit"),
            ((no_out_w, b - k), "the output layer (last hidden width x num_classes) is missing"),
            ((no_out_w, b), "the output layer's weights are missing"),
            (
                (lin_in_w, b),
                "an input_size x input_size image has input_size**2 pixels, not input_size",
            ),
            ((w, b - k), "the output layer's biases are missing"),
            (
                (w, b + input_size**2),
                "the input pixels have no bias, only the units a layer computes (this is how "
                "the seed gets 1,802 = 1,024 + 512 + 256 + 10)",
            ),
        ]
        for wrong, mistake in mistakes:
            if got == wrong:
                fail(check, f"{case} = {expected}", got, mistake)
        fail(
            check,
            f"{case} = {expected}",
            got,
            "a Linear(n_in, n_out) layer has n_in * n_out weights and n_out biases; add them up "
            "over every layer, output layer included",
        )
    passed(check, "657,920 weights and 778 biases for the seed's 32x32 / 512 / 256 / 10 MLP")


def _layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if not list(m.children())]


def check_lenet5(model: Any) -> None:
    """``model``: LeNet-5 for 1x28x28 digits, tanh and 2x2 average pooling, 61,706 parameters."""
    check = "lenet5"
    if model is None:
        not_answered(check, "`my_lenet5` is still None: build it in the exercise cell and run it")
    if not isinstance(model, nn.Module):
        fail(
            check,
            "an nn.Module (your LeNet-5)",
            type(model).__name__,
            "wrap the layers in nn.Sequential(...)",
        )
    made = made_by_course(model)
    if made is not None:
        raise ForbiddenCall(
            f"\n[{check}] not yet right.\n  This exercise asks you to build LeNet-5 layer by "
            f"layer yourself; your model (or a part of it) was made by {made}.\n"
            "  Write nn.Sequential(nn.Conv2d(...), nn.Tanh(), ...) from torch's layers."
        )
    _check_lenet5_structure(check, model)
    n = sum(p.numel() for p in model.parameters())
    passed(check, f"{n:,} parameters, layers in LeNet-5's order, tanh and average pooling")


def _check_lenet5_structure(check: str, model: nn.Module) -> None:
    """Fails ``check`` unless ``model`` is the textbook LeNet-5 for 1x28x28 digits."""
    x = torch.zeros(2, 1, 28, 28)
    was_training = model.training
    try:
        with torch.no_grad():
            out = model.eval()(x)
    except NotImplementedError:
        raise
    except Exception as err:  # shapes that do not fit: say which layer size is off
        fail(
            check,
            "a forward pass on a (2, 1, 28, 28) batch",
            f"{type(err).__name__}: {err}",
            "C1 needs padding=2 so that 28x28 acts like LeNet-5's 32x32 (28 -> 14 -> 10 -> 5 "
            "-> C5 1x1), and C5's output flattens to 120 features",
        )
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 10):
        fail(
            check,
            "output shape (2, 10): one score per digit",
            tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__,
            "the last layer is nn.Linear(84, 10)",
        )
    layers = _layers(model)
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    linears = [m for m in layers if isinstance(m, nn.Linear)]
    if any(isinstance(m, nn.MaxPool2d) for m in layers):
        fail(
            check,
            "2x2 average pooling (nn.AvgPool2d), as in 1998",
            "nn.MaxPool2d",
            "LeNet-5 averages (subsampling); max pooling is the modern choice compared later",
        )
    pools = [m for m in layers if isinstance(m, nn.AvgPool2d)]
    if len(pools) != 2:
        fail(
            check,
            "2 average-pooling layers (S2 and S4)",
            f"{len(pools)}",
            "LeNet-5 is C1, S2, C3, S4, C5, F6, output",
        )
    if any(isinstance(m, nn.ReLU | nn.LeakyReLU | nn.ELU | nn.PReLU) for m in layers):
        fail(
            check,
            "tanh activations (nn.Tanh)",
            "a ReLU-type activation",
            "LeNet-5 predates ReLU: use nn.Tanh() after C1, C3, C5 and F6",
        )
    n_tanh = sum(isinstance(m, nn.Tanh) for m in layers)
    if n_tanh != 4:
        fail(
            check,
            "4 nn.Tanh layers (after C1, C3, C5, F6)",
            n_tanh,
            "every convolution and F6 is followed by tanh; the output layer is not",
        )
    channels = [c.out_channels for c in convs]
    if channels != [6, 16, 120]:
        fail(
            check,
            "convolutions with 6, 16 and 120 output maps (C1, C3, C5)",
            channels,
            "C1 has 6 maps, C3 16, C5 120, all with 5x5 kernels",
        )
    kernels = [tuple(c.kernel_size) for c in convs]
    if kernels != [(5, 5)] * 3:
        fail(check, "5x5 kernels in C1, C3 and C5", kernels, "LeNet-5 uses kernel_size=5")
    widths = [(m.in_features, m.out_features) for m in linears]
    if widths != [(120, 84), (84, 10)]:
        fail(
            check,
            "Linear(120, 84) then Linear(84, 10)",
            widths,
            "F6 has 84 units; the output layer 10",
        )
    n = sum(p.numel() for p in model.parameters())
    if n != LENET5_PARAMS:
        fail(
            check,
            f"{LENET5_PARAMS:,} parameters",
            f"{n:,}",
            "a layer has no bias (bias=False) or an extra layer has parameters",
        )
    _check_lenet5_order(check, model)


#: LeNet-5's layers in the order the forward pass calls them (Flatten, Identity, Dropout aside).
LENET5_ORDER = (
    "Conv2d", "Tanh", "AvgPool2d", "Conv2d", "Tanh", "AvgPool2d",
    "Conv2d", "Tanh", "Linear", "Tanh", "Linear",
)  # fmt: skip
_NEUTRAL = (nn.Flatten, nn.Identity, nn.Dropout, nn.Unflatten)


def _call_order(model: nn.Module, x: torch.Tensor) -> tuple[list[nn.Module], torch.Tensor]:
    """The leaf modules in the order a forward pass calls them, and the output (eval mode)."""
    called: list[nn.Module] = []
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(lambda m, i, o: called.append(m)) for m in leaves]
    was_training = model.training
    try:
        with torch.no_grad():
            out = model.eval()(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return called, out


def _lenet5_reference(layers: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
    """LeNet-5 computed with torch.nn.functional from the student's own conv and FC weights."""
    c1, c3, c5 = (m for m in layers if isinstance(m, nn.Conv2d))
    f6, out = (m for m in layers if isinstance(m, nn.Linear))
    F = nn.functional
    h = F.avg_pool2d(torch.tanh(F.conv2d(x, c1.weight, c1.bias, padding=2)), 2)
    h = F.avg_pool2d(torch.tanh(F.conv2d(h, c3.weight, c3.bias)), 2)
    h = torch.tanh(F.conv2d(h, c5.weight, c5.bias)).flatten(1)
    return F.linear(torch.tanh(F.linear(h, f6.weight, f6.bias)), out.weight, out.bias)


def _check_lenet5_order(check: str, model: nn.Module) -> None:
    """The layers run in LeNet-5's order and compute what LeNet-5 computes with these weights."""
    x = torch.randn(4, 1, 28, 28, generator=torch.Generator().manual_seed(11))
    called, got = _call_order(model, x)
    order = [type(m).__name__ for m in called if not isinstance(m, _NEUTRAL)]
    if tuple(order) != LENET5_ORDER:
        where = next(
            (i for i, (a, b) in enumerate(zip(order, LENET5_ORDER, strict=False)) if a != b),
            min(len(order), len(LENET5_ORDER)),
        )
        fail(
            check,
            "the forward pass calls " + ", ".join(LENET5_ORDER),
            ", ".join(order),
            f"layer {where + 1} is out of place: each convolution and F6 is followed by tanh, "
            "each of the first two tanh by a 2x2 average pooling; the output layer has no tanh",
        )
    with torch.no_grad():
        want = _lenet5_reference(called, x)
    if not torch.allclose(got.float(), want, atol=1e-5, rtol=1e-4):
        fail(
            check,
            "the outputs of LeNet-5 computed with your layers' own weights",
            f"outputs that differ by up to {(got.float() - want).abs().max().item():.3g}",
            "a layer's settings differ from LeNet-5's: C1 needs padding=2, the pooling layers "
            "are nn.AvgPool2d(2) (kernel 2, stride 2), the convolutions have stride 1",
        )


def check_accuracy(func: Callable[..., Any]) -> None:
    """``func(logits (N, K), labels (N,)) -> float`` fraction of rows whose argmax is the label."""
    check = "accuracy"
    g = torch.Generator().manual_seed(5)
    cases = [
        (
            torch.tensor([[2.0, 1.0, 0.1], [0.1, 0.2, 3.0], [1.0, 4.0, 0.0], [0.5, 0.4, 0.3]]),
            torch.tensor([0, 2, 0, 0]),
        ),
        (torch.randn(7, 10, generator=g), torch.randint(0, 10, (7,), generator=g)),
        (torch.randn(4, 2, generator=g), torch.tensor([1, 1, 0, 1])),
    ]
    for logits, labels in cases:
        case = f"logits of shape {tuple(logits.shape)}, labels {labels.tolist()}"
        expected = (logits.argmax(dim=1) == labels).float().mean().item()
        got = call_student(check, func, logits.clone(), labels.clone())
        if isinstance(got, torch.Tensor):
            fail(
                check,
                f"{case}: a Python float {expected:.4f}",
                f"a torch.Tensor {got!r}",
                "a tensor is not a float: end with .item() to get a Python number",
            )
        if isinstance(got, int | np.integer) and not isinstance(got, bool):
            n_correct = int((logits.argmax(dim=1) == labels).sum())
            fail(
                check,
                f"{case}: a Python float {expected:.4f}",
                f"the int {got!r}",
                "that is the number of correct rows: divide by the number of rows"
                if got == n_correct
                else "an int here comes from integer division or a count: compute "
                "(predictions == labels).float().mean().item()",
            )
        try:
            got = float(got)
        except (TypeError, ValueError):
            fail(
                check,
                f"{case}: a number {expected:.4f}",
                got,
                "return a single number, e.g. `.float().mean().item()`",
            )
        if np.isclose(got, expected):
            continue
        correct = (logits.argmax(dim=1) == labels).sum().item()
        if np.isclose(got, correct) and correct != expected:
            fail(
                check,
                f"{case}: {expected:.4f}",
                got,
                "that is the number of correct rows: divide by the number of rows",
            )
        if np.isclose(got, 100 * expected):
            fail(check, f"{case}: {expected:.4f}", got, "return a fraction in [0, 1], not percent")
        if np.isclose(got, 1 - expected):
            fail(check, f"{case}: {expected:.4f}", got, "that is the error rate, 1 - accuracy")
        by_col = logits.argmax(dim=0)
        if len(by_col) <= len(labels):
            wrong = (by_col == labels[: len(by_col)]).float().mean().item()
            if np.isclose(got, wrong):
                fail(
                    check,
                    f"{case}: {expected:.4f}",
                    got,
                    "argmax over dim 0 picks a row per class; take it over dim=1 (the classes)",
                )
        probs_wrong = (torch.softmax(logits, 0).argmax(1) == labels).float().mean().item()
        if np.isclose(got, probs_wrong) and not np.isclose(probs_wrong, expected):
            fail(check, f"{case}: {expected:.4f}", got, "softmax over dim 0 mixes the images")
        fail(
            check,
            f"{case}: {expected:.4f}",
            got,
            "the prediction is the class with the largest logit, logits.argmax(dim=1); "
            "accuracy is the mean of (prediction == label)",
        )
    passed(check)


# ------------------------------------------------------------------------ a training loop by hand
#: The check's data: batch sizes that identify the loader (train 32, 32, 32, 4; validation 20,
#: 20, 10) and leave a short last batch, so that an unweighted mean of batch losses shows.
LOOP_TRAIN, LOOP_VAL, LOOP_TRAIN_BATCH, LOOP_VAL_BATCH, LOOP_EPOCHS, LOOP_SEED = (
    100,
    50,
    32,
    20,
    2,
    3,
)


def _loop_model() -> nn.Module:
    """A small net whose output depends on the mode: batch norm and dropout (1x12x12 inputs)."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(4 * 5 * 5, 10),
    )  # fmt: skip


def _loop_setup():
    from coursecnn.train import TensorLoader, seed_everything

    g = torch.Generator().manual_seed(LOOP_SEED)
    x = torch.randn(LOOP_TRAIN + LOOP_VAL, 1, 12, 12, generator=g)
    y = torch.randint(0, 10, (LOOP_TRAIN + LOOP_VAL,), generator=g)
    seed_everything(LOOP_SEED)
    model = _loop_model()
    model.eval()  # handed over in eval mode, as after an evaluation: the loop must call train()

    def loaders():
        train = TensorLoader(x[:LOOP_TRAIN], y[:LOOP_TRAIN], LOOP_TRAIN_BATCH, shuffle=True,
                             seed=LOOP_SEED)  # fmt: skip
        return train, TensorLoader(x[LOOP_TRAIN:], y[LOOP_TRAIN:], LOOP_VAL_BATCH)

    return model, loaders


class _Recorder:
    """What a training loop does, in order: forwards (mode, grad mode, batch size), backwards,
    optimizer steps and zero_grad calls; and the gradient norm of the first backward."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.events: list[tuple] = []
        self.first_grad: float | None = None
        model.register_forward_hook(
            lambda m, i, o: self.events.append(
                ("forward", m.training, torch.is_grad_enabled(), len(i[0]))
            )
        )
        weight = next(model.parameters())
        weight.register_hook(self._on_grad)
        for obj, attr in ((optimizer, "step"), (optimizer, "zero_grad"), (model, "zero_grad")):
            self._wrap(obj, attr)

    def _on_grad(self, grad: torch.Tensor) -> None:
        self.events.append(("backward",))
        if self.first_grad is None:
            self.first_grad = float(grad.norm())

    def _wrap(self, obj: Any, attr: str) -> None:
        inner = getattr(obj, attr)

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            self.events.append((attr,))
            return inner(*args, **kwargs)

        setattr(obj, attr, wrapped)

    def forwards(self, batch_sizes: set[int]) -> list[tuple]:
        return [e for e in self.events if e[0] == "forward" and e[3] in batch_sizes]


class _Recorded:
    """What a ``_Recorder`` saw, as data (it comes back from the student's kernel)."""

    def __init__(self, events: list, first_grad: float | None) -> None:
        self.events = [tuple(e) for e in events]
        self.first_grad = first_grad

    def forwards(self, batch_sizes: set[int]) -> list[tuple]:
        return [e for e in self.events if e[0] == "forward" and e[3] in batch_sizes]


@observer
def _run_train_loop(train_loop: Callable[..., Any]) -> dict[str, Any]:
    """Where the student's code lives: the check's model, loaders and SGD, the student's loop run
    on them under a recorder. Returns data: the history, the events, the first gradient's norm
    and the final weights."""
    from coursecnn.train import seed_everything

    model, loaders = _loop_setup()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rec = _Recorder(model, opt)
    train, val = loaders()
    seed_everything(LOOP_SEED)  # what fit(seed=...) does first: the same dropout masks
    history = call_student("train_loop", train_loop, model, train, val, opt, LOOP_EPOCHS)
    return {"history": history, "events": rec.events, "first_grad": rec.first_grad,
            "state": model.state_dict()}  # fmt: skip


def _order_mistake(events: list[tuple]) -> str | None:
    """The first misplaced zero_grad / backward / step, read as a state machine."""
    fresh, pending, steps = True, False, 0  # fresh: gradients are zero (or None)
    for event in events:
        kind = event[0]
        if kind == "zero_grad":
            if pending:
                return ("optimizer.zero_grad() runs between loss.backward() and optimizer.step(): "
                        "it erases the gradients the step needs")  # fmt: skip
            fresh = True
        elif kind == "backward":
            if not fresh:
                return ("the gradients are never zeroed: loss.backward() ADDS to .grad, so each "
                        "step uses the sum of every batch so far; call optimizer.zero_grad() "
                        "before each backward")  # fmt: skip
            fresh, pending = False, True
        elif kind == "step":
            if not pending:
                return ("optimizer.step() runs before loss.backward(): it uses the gradients of "
                        "no batch, or of the previous one; the order is forward, loss, "
                        "zero_grad, backward, step")  # fmt: skip
            pending, steps = False, steps + 1
    if steps == 0:
        return "optimizer.step() is never called: the weights never change"
    return None


def _reference_fit(model: nn.Module, loaders, optimizer) -> tuple[Any, list[tuple], float | None]:
    """``fit`` on the same model, data and seed; the batch losses it computed, grad mode noted."""
    from coursecnn.train import fit

    losses: list[tuple] = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.cross_entropy(out, y)
        losses.append((torch.is_grad_enabled(), len(y), float(loss.detach())))
        return loss

    rec = _Recorder(model, optimizer)
    train, val = loaders()
    history = fit(model, train, epochs=LOOP_EPOCHS, optimizer=optimizer, loss_fn=loss_fn,
                  val_loader=val, device="cpu", amp=False, channels_last=False, seed=LOOP_SEED,
                  progress=False)  # fmt: skip
    return history, losses, rec.first_grad


def _per_epoch(losses: list[tuple], training: bool) -> list[list[tuple[int, float]]]:
    picked = [(n, v) for grad, n, v in losses if grad == training]
    per = len(picked) // LOOP_EPOCHS
    return [picked[e * per : (e + 1) * per] for e in range(LOOP_EPOCHS)]


def _loss_mistake(got: float, batches: list[tuple[int, float]], what: str) -> str | None:
    unweighted = sum(v for _, v in batches) / len(batches)
    if math.isclose(got, unweighted, rel_tol=1e-6):
        return (f"the {what} is the plain mean of the batch losses, but the last batch is smaller: "
                "weight each batch by its size, loss.item() * len(x), and divide by the number "
                "of images")  # fmt: skip
    if math.isclose(got, sum(n * v for n, v in batches), rel_tol=1e-6):
        return f"the {what} is a sum over the images: divide by the number of images"
    if math.isclose(got, sum(v for _, v in batches), rel_tol=1e-6):
        return f"the {what} is the sum of the batch losses: average it over the images"
    if math.isclose(got, batches[-1][1], rel_tol=1e-6):
        return f"the {what} is the last batch's loss: report the mean over the whole epoch"
    return None


def _history_lists(check: str, got: Any) -> dict[str, list[float]]:
    keys = ("train_loss", "val_loss", "val_acc")
    if got is None:
        fail(check, "a dict {'train_loss': [...], 'val_loss': [...], 'val_acc': [...]}", None,
             "the function returns nothing: `return history`")  # fmt: skip
    if not isinstance(got, dict) or not all(k in got for k in keys):
        fail(check, f"a dict with the keys {list(keys)}",
             sorted(got) if isinstance(got, dict) else type(got).__name__,
             "return history = {'train_loss': [...], 'val_loss': [...], 'val_acc': [...]}")  # fmt: skip
    out = {}
    for k in keys:
        try:
            out[k] = [float(v) for v in got[k]]
        except (TypeError, ValueError):
            fail(check, f"history[{k!r}]: a list of numbers, one per epoch", got[k],
                 "append one Python number per epoch, e.g. loss.item() sums divided by counts")  # fmt: skip
        if len(out[k]) != LOOP_EPOCHS:
            fail(check, f"history[{k!r}]: {LOOP_EPOCHS} numbers, one per epoch", got[k],
                 "append once per epoch, after the pass over train_loader and the validation")  # fmt: skip
    return out


def check_train_loop(train_loop: Callable[..., Any]) -> None:
    """``train_loop(model, train_loader, val_loader, optimizer, epochs) -> history`` against
    ``coursecnn.train.fit`` on the same seed, initial weights and batches.

    history: ``{"train_loss": [...], "val_loss": [...], "val_acc": [...]}``, one number per epoch:
    the mean cross-entropy over the epoch's training images (as computed during the epoch), and
    the validation loss and accuracy after it. The check's model has batch norm and dropout, so
    train and eval mode give different numbers; it is handed over in eval mode. SGD with
    momentum, so a loss summed instead of averaged also shows.
    """
    check = "train_loop"
    model, loaders = _loop_setup()
    reference = copy.deepcopy(model)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9)
    history, ref_losses, ref_first_grad = _reference_fit(reference, loaders, ref_opt)

    run = observe(check, _run_train_loop, train_loop)
    rec = _Recorded(run["events"], run["first_grad"])
    model.load_state_dict(run["state"])
    got = _history_lists(check, run["history"])

    train_sizes = {LOOP_TRAIN_BATCH, LOOP_TRAIN % LOOP_TRAIN_BATCH}
    val_sizes = {LOOP_VAL_BATCH, LOOP_VAL % LOOP_VAL_BATCH}
    train_fw, val_fw = rec.forwards(train_sizes), rec.forwards(val_sizes)
    n_train = LOOP_EPOCHS * -(-LOOP_TRAIN // LOOP_TRAIN_BATCH)
    n_val = LOOP_EPOCHS * -(-LOOP_VAL // LOOP_VAL_BATCH)
    if len(val_fw) != n_val:
        fail(check, f"{n_val} forward passes on validation batches", len(val_fw),
             "after each epoch, run the model once over every batch of val_loader (not train_loader)")  # fmt: skip
    if len(train_fw) != n_train:
        fail(check, f"{n_train} forward passes on training batches ({LOOP_EPOCHS} epochs of "
             f"{n_train // LOOP_EPOCHS} batches)", len(train_fw),
             "loop `epochs` times over every batch of train_loader, one forward pass each")  # fmt: skip
    if not all(training for _, training, _, _ in train_fw):
        epoch = 1 + next(i for i, e in enumerate(train_fw) if not e[1]) * LOOP_EPOCHS // n_train
        fail(check, "every training batch in train mode (model.train())",
             f"training batches in eval mode from epoch {epoch} on",
             "call model.train() at the start of EVERY epoch: the model may arrive in eval "
             "mode, and validation leaves it there, so dropout stays off and batch norm uses "
             "its running averages while training")  # fmt: skip
    if any(training for _, training, _, _ in val_fw):
        fail(check, "every validation batch in eval mode (model.eval())",
             "validation batches in train mode",
             "call model.eval() before validating: in train mode dropout drops units at "
             "random and batch norm uses (and updates) the statistics of the validation batch")  # fmt: skip
    if any(grad for _, _, grad, _ in val_fw):
        fail(check, "validation under torch.no_grad()", "validation with autograd recording",
             "wrap the validation loop in `with torch.no_grad():`: nothing is trained there, "
             "and without it every forward pass keeps its graph for a backward that never "
             "comes")  # fmt: skip
    if not all(grad for _, _, grad, _ in train_fw):
        fail(check, "training batches with autograd on", "training under no_grad",
             "only validation goes under torch.no_grad(); training needs the gradients")  # fmt: skip

    ref = {"train_loss": history.train_loss, "val_loss": history.val_loss,
           "val_acc": history.val_acc}  # fmt: skip
    train_batches, val_batches = _per_epoch(ref_losses, True), _per_epoch(ref_losses, False)
    worst = 0.0
    for e in range(LOOP_EPOCHS):
        for key, batches in (("train_loss", train_batches[e]), ("val_loss", val_batches[e]),
                             ("val_acc", None)):  # fmt: skip
            want, have = ref[key][e], got[key][e]
            if math.isclose(have, want, rel_tol=1e-5, abs_tol=1e-7):
                worst = max(worst, abs(have - want))
                continue
            what = "training loss" if key == "train_loss" else "validation loss"
            mistake = _order_mistake(rec.events) if key == "train_loss" else None
            if mistake is None and batches is not None and e == 0:
                mistake = _loss_mistake(have, batches, what)
            if mistake is None and key == "val_acc" and math.isclose(have, 100 * want):
                mistake = "the accuracy is a fraction in [0, 1], not a percentage"
            if mistake is None and rec.first_grad and ref_first_grad:
                ratio = rec.first_grad / ref_first_grad
                if math.isclose(ratio, LOOP_TRAIN_BATCH, rel_tol=1e-3):
                    mistake = ("the gradients are 32 times too large: the loss is summed over the "
                               "batch (reduction='sum'); use the mean, F.cross_entropy(out, y)")  # fmt: skip
            fail(check, f"history[{key!r}][{e}] = {want:.6f}, as fit gives on the same seed",
                 f"{have:.6f}", mistake or "each epoch: model.train(); for each batch: "
                 "zero_grad, forward, loss, backward, step; then model.eval() and, under "
                 "torch.no_grad(), the mean loss and the accuracy over val_loader")  # fmt: skip
    for (k, a), b in zip(model.state_dict().items(), reference.state_dict().values(), strict=True):
        if a.is_floating_point() and not torch.allclose(a, b, rtol=1e-5, atol=1e-6):
            fail(check, f"the same weights as fit after {LOOP_EPOCHS} epochs",
                 f"{k} differs by up to {(a - b).abs().max().item():.2e}",
                 "nothing should change the model after the last validation (no extra step)")  # fmt: skip
    passed(
        check,
        f"{LOOP_EPOCHS} epochs of a net with dropout and batch norm: losses and accuracies equal "
        f"fit's on the same seed (largest difference {worst:.1e}) and so do the final weights; "
        "train mode to train, eval mode and no_grad to validate",
    )


#: Notebook 05's validation split: the last 500 of the 4,000 training digits.
VALIDATION = slice(3500, None)


def _digit_batches(split: str, mean: float, std: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``split``: a split of ``digits`` or ``"validation"`` (notebook 05's, from ``"train"``)."""
    from coursecnn.data import digits

    if split == "validation":
        x, y = (a[VALIDATION] for a in digits("train"))
    else:
        x, y = digits(split)
    xt = torch.from_numpy((x / 255.0 - mean) / std).float().unsqueeze(1)
    return xt, torch.from_numpy(y)


def _per_image_losses(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor
) -> tuple[np.ndarray, np.ndarray]:
    """(cross-entropy per image, correct per image), in eval mode, without gradients."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = torch.cat([model(xb.to(device)).float().cpu() for xb in x.split(500)])
    finally:
        model.train(was_training)
    losses = nn.functional.cross_entropy(out, y, reduction="none").numpy().astype(np.float64)
    return losses, (out.argmax(dim=1) == y).numpy()


def leak_p_value(seen: np.ndarray, unseen: np.ndarray, permutations: int = 20_000) -> float:
    """One-sided permutation p-value that ``seen`` losses are lower on average than ``unseen``.

    Under "the model never trained on either set" the two are exchangeable, so the split of the
    pooled losses into the two groups is random; a model trained on the ``seen`` images has
    memorised them and gives them far lower losses. Seeded: the same losses give the same p.
    """
    pooled = np.concatenate([seen, unseen])
    n, total = len(seen), pooled.sum()
    observed = seen.mean() - (total - seen.sum()) / (len(pooled) - n)
    rng = np.random.default_rng(0)
    diffs = np.empty(permutations)
    for start in range(0, permutations, 1000):
        stop = min(start + 1000, permutations)
        shuffled = rng.permuted(np.tile(pooled, (stop - start, 1)), axis=1)
        first = shuffled[:, :n].sum(axis=1)
        diffs[start:stop] = first / n - (total - first) / (len(pooled) - n)
    return float((1 + np.sum(diffs <= observed)) / (1 + permutations))


#: Below this p-value a model's loss on the handed-out test digits is so much lower than on the
#: check digits that it must have been trained on them (an honest model: p is uniform in [0, 1]).
LEAK_P = 1e-3


def check_test_accuracy(model: Any, history: Any = None, target: float = 0.97) -> None:
    """``model`` is a trained LeNet-5 reaching ``target`` on held-out digits no notebook hands out,
    and ``history`` is the ``History`` of the run that trained it, watched on the validation digits.

    The 1,000 held-out digits are the 500 ``digits("test")`` that the notebook hands out and the
    500 ``digits("check")`` that it never does; both are normalised with the training split's
    mean and std, 28x28, as ``coursecnn.data.loader`` does. The accuracy is measured on the check
    digits, so that training on the test digits gains nothing; and a model trained on them is
    refused: its losses there are much lower than on the check digits (``leak_p_value``).
    The model must be the textbook LeNet-5 (the structure ``check_lenet5`` asks for), and one
    epoch of ``history`` must hold the loss this model gives notebook 05's validation digits
    (the history belongs to this model's run, with ``val_loader=val_loader``).
    """
    from coursecnn.data import digits, stats
    from coursecnn.train import History

    check = "test_accuracy"
    if model is None:
        not_answered(
            check,
            "`trained_lenet5` is still None: train your model in the exercise cell and run it",
        )
    if not isinstance(model, nn.Module):
        fail(check, "a trained nn.Module", type(model).__name__, "pass the model itself")
    if next(model.parameters(), None) is None:
        fail(check, "a trained nn.Module with parameters", "a module without parameters",
             "pass the network you trained")  # fmt: skip
    mean, std = stats(digits("train")[0])
    try:
        seen = _per_image_losses(model, *_digit_batches("test", mean, std))
        unseen = _per_image_losses(model, *_digit_batches("check", mean, std))
    except Exception as err:
        fail(
            check,
            "a model that takes (N, 1, 28, 28) digits and returns (N, 10) logits",
            f"{type(err).__name__}: {err}",
            "train a model for 28x28 inputs, e.g. lenet5(input_size=28)",
        )
    acc = float(unseen[1].mean())
    p = leak_p_value(seen[0], unseen[0])
    if p < LEAK_P:
        fail(
            check,
            "about the same loss on the 500 test digits as on 500 held-out digits it never saw",
            f"mean loss {seen[0].mean():.4f} on the test digits, {unseen[0].mean():.4f} on the "
            f"unseen ones (accuracy {seen[1].mean():.1%} against {unseen[1].mean():.1%}; "
            f"permutation p = {p:.1e})",
            "the model was trained on the test digits (test_loader, or x_test added to the "
            "training data): train on train_loader only; the test digits are never trained on",
        )
    n = sum(q.numel() for q in model.parameters())
    if n != LENET5_PARAMS:
        fail(
            check,
            f"LeNet-5 as lenet5(input_size=28) builds it ({LENET5_PARAMS:,} parameters)",
            f"a model with {n:,} parameters",
            "the exercise trains lenet5(input_size=28), not another network (LeNet-1 has 3,246)",
        )
    _check_lenet5_structure(check, copy.deepcopy(model).cpu().float())
    if acc < target:
        mistake = (
            "no better than guessing: was the model trained at all?"
            if acc < 0.2
            else "train for more epochs, or check the learning rate (Adam 1e-3 to 3e-3) and "
            "that the images are normalised with the training mean and std"
        )
        fail(
            check,
            f"accuracy >= {target:.0%} on the 500 held-out digits kept for this check",
            f"{acc:.2%}",
            mistake,
        )
    if history is None:
        not_answered(
            check,
            "`history5` is still None: assign it the History that fit returns for this model",
        )
    if not isinstance(history, History):
        fail(
            check,
            "history5: the History that coursecnn.train.fit returns",
            type(history).__name__,
            "assign the return value of fit(...) itself, history5 = fit(...)",
        )
    if not len(history) or not history.has_val:
        fail(
            check,
            "a history with held-out curves: at least one epoch with a validation loss",
            f"{len(history)} epochs, validation losses {history.val_loss}",
            "pass val_loader=val_loader to fit",
        )
    loss = float(_per_image_losses(model, *_digit_batches("validation", mean, std))[0].mean())
    val_losses = [v for v in history.val_loss if not math.isnan(v)]
    closest = min(val_losses, key=lambda v: abs(v - loss))
    if abs(closest - loss) > 0.05 * loss + 1e-3:
        fail(
            check,
            f"an epoch of history5 with the loss this model gives the validation digits, "
            f"{loss:.4f}",
            f"validation losses {', '.join(f'{v:.4f}' for v in val_losses)}",
            "history5 is not the history of this model's run: assign both from the same fit "
            "call, with val_loader=val_loader (not another model's history, nor a model "
            "trained further after fit returned)",
        )
    passed(
        check,
        f"{acc:.2%} on 500 held-out digits it never saw (target {target:.0%}); no sign that it "
        f"was trained on the test digits; LeNet-5, and history5 holds its {len(history)} epochs",
    )


# ------------------------------------------------------------- what each exercise rules out
declare("mlp_param_count", "the parameter count", forbid=BUILD_MODULE)
declare("lenet5", "LeNet-5 layer by layer")  # a model the course's factories built is refused
declare("test_accuracy", "the training", package=False)  # trains the course's lenet5 with fit
declare("accuracy", "accuracy", forbid=["sklearn.metrics:accuracy_score"])
declare(
    "train_loop",
    "the training loop",
    mutates=True,
    rng=True,
    allow=["coursecnn.train.tensor_loader"],
)
