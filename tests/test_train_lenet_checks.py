"""coursecnn.checks.lenet: passes the right answers, names the classic mistakes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from coursecnn.checks import CheckFailed
from coursecnn.checks import lenet as checks
from coursecnn.models import lenet5

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def mlp_count(input_size, hidden, num_classes):
    widths = [input_size * input_size, *hidden, num_classes]
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return weights, sum(widths[1:])


def test_mlp_param_count_passes_and_names_mistakes(capsys):
    checks.check_mlp_param_count(mlp_count)
    assert "657,920 weights and 778 biases" in capsys.readouterr().out

    def biases_as_weights(i, h, k):
        w, b = mlp_count(i, h, k)
        return w + b, 0

    def no_biases(i, h, k):
        return mlp_count(i, h, k)[0], 0

    def side_not_area(i, h, k):
        widths = [i, *h, k]
        return sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True)), sum(widths[1:])

    def seed_count(i, h, k):  # seed 004's 1,802: an offset for every unit, inputs included
        w, b = mlp_count(i, h, k)
        return w, b + i * i

    def unfinished(i, h, k):
        raise NotImplementedError()

    for func, message in [
        (biases_as_weights, "counted as weights"),
        (no_biases, "biases are missing"),
        (side_not_area, "input_size\\*\\*2"),
        (seed_count, "input pixels have no bias"),
        (unfinished, "NotImplementedError"),
        (lambda i, h, k: 657920, "pair"),
    ]:
        with pytest.raises(CheckFailed, match=message):
            checks.check_mlp_param_count(func)


def by_hand(pool=nn.AvgPool2d, act=nn.Tanh, c3=16, padding=2):
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=padding), act(), pool(2),
        nn.Conv2d(6, c3, 5), act(), pool(2),
        nn.Conv2d(c3, 120, 5), act(), nn.Flatten(),
        nn.Linear(120, 84), act(), nn.Linear(84, 10),
    )  # fmt: skip


def test_lenet5_passes_by_hand_and_refuses_the_zoo(capsys):
    checks.check_lenet5(by_hand())
    assert "61,706 parameters" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="was made by coursecnn.models.lenet.lenet5"):
        checks.check_lenet5(lenet5(input_size=28))  # the course's own model skips the exercise


@pytest.mark.parametrize(
    "model, message",
    [
        (None, "not yet answered"),
        ("lenet", "nn.Sequential"),
        (by_hand(pool=nn.MaxPool2d), "average pooling"),
        (by_hand(act=nn.ReLU), "tanh"),
        (by_hand(c3=12), "6, 16 and 120"),
        (by_hand(padding=0), "padding=2"),
        (lenet5(input_size=28, pool="paper"), "made by coursecnn.models.lenet.lenet5"),
    ],
)
def test_lenet5_names_mistakes(model, message):
    with pytest.raises(CheckFailed, match=message):
        checks.check_lenet5(model)


def test_lenet5_refuses_layers_out_of_place():
    def seq(*layers):
        return nn.Sequential(*layers)

    c1, c3, c5 = (
        (lambda: nn.Conv2d(1, 6, 5, padding=2)),
        (lambda: nn.Conv2d(6, 16, 5)),
        (lambda: nn.Conv2d(16, 120, 5)),
    )
    pool_then_tanh = seq(c1(), nn.AvgPool2d(2), nn.Tanh(), c3(), nn.AvgPool2d(2), nn.Tanh(),
                         c5(), nn.Tanh(), nn.Flatten(), nn.Linear(120, 84), nn.Tanh(),
                         nn.Linear(84, 10))  # fmt: skip
    tanh_moved_to_output = seq(c1(), nn.Tanh(), nn.AvgPool2d(2), c3(), nn.Tanh(), nn.AvgPool2d(2),
                               c5(), nn.Flatten(), nn.Linear(120, 84), nn.Tanh(),
                               nn.Linear(84, 10), nn.Tanh())  # fmt: skip
    for model in (pool_then_tanh, tanh_moved_to_output):
        with pytest.raises(CheckFailed, match="out of place"):
            checks.check_lenet5(model)

    class Shuffled(nn.Module):  # registered in LeNet-5's order, called in another
        def __init__(self):
            super().__init__()
            self.body = by_hand()

        def forward(self, x):
            b = self.body
            h = b[2](b[1](b[0](x)))
            h = b[4](b[5](b[3](h)))  # pool before tanh in the second stage
            return b[11](b[10](b[9](b[8](b[7](b[6](h))))))

    with pytest.raises(CheckFailed, match="out of place"):
        checks.check_lenet5(Shuffled())
    summed = by_hand()  # right order and shapes, but S2 sums its windows instead of averaging
    summed[2] = nn.AvgPool2d(2, divisor_override=1)
    with pytest.raises(CheckFailed, match="settings differ"):
        checks.check_lenet5(summed)


def test_accuracy_passes_and_names_mistakes():
    checks.check_accuracy(lambda z, y: (z.argmax(1) == y).float().mean().item())
    checks.check_accuracy(lambda z, y: float((z.argmax(1) == y).double().mean()))
    checks.check_accuracy(lambda z, y: np.mean(z.argmax(1).numpy() == y.numpy()))  # np.float64
    for func, message in [
        (lambda z, y: (z.argmax(1) == y).sum().item(), "number of correct rows"),
        (lambda z, y: 100 * (z.argmax(1) == y).float().mean().item(), "not percent"),
        (lambda z, y: (z.argmax(1) != y).float().mean().item(), "error rate"),
        (lambda z, y: None, "a number"),
        (lambda z, y: (z.argmax(1) == y).float().mean(), "tensor is not a float"),
        (lambda z, y: int((z.argmax(1) == y).sum()) // len(y), "integer division"),
    ]:
        with pytest.raises(CheckFailed, match=message):
            checks.check_accuracy(func)


def test_test_accuracy_fails_untrained_and_none():
    with pytest.raises(CheckFailed, match="not yet answered"):
        checks.check_test_accuracy(None)
    torch.manual_seed(0)
    with pytest.raises(CheckFailed, match="accuracy >= 97% on the 500 held-out digits"):
        checks.check_test_accuracy(lenet5(input_size=28))
    with pytest.raises(CheckFailed, match="28x28"):
        checks.check_test_accuracy(lenet5())  # a 32x32 LeNet-5 cannot take the digits


def _test_digit_loss(model):
    from coursecnn.data import digits, stats

    mean, std = stats(digits("train")[0])
    return float(
        checks._per_image_losses(model, *checks._digit_batches("test", mean, std))[0].mean()
    )


def test_test_accuracy_wants_lenet5_and_its_own_history():
    from coursecnn.models import lenet1
    from coursecnn.train import History

    torch.manual_seed(0)
    with pytest.raises(CheckFailed, match="lenet5\\(input_size=28\\)"):
        checks.check_test_accuracy(lenet1(), None, target=0.0)  # LeNet-1, any accuracy
    net = lenet5(input_size=28)
    with pytest.raises(CheckFailed, match="history5. is still None"):
        checks.check_test_accuracy(net, None, target=0.0)
    with pytest.raises(CheckFailed, match="History that coursecnn.train.fit returns"):
        checks.check_test_accuracy(net, {"val_loss": [1.0]}, target=0.0)

    def history(*val_losses):
        h = History()
        for v in val_losses:
            h.append(train_loss=1.0, train_acc=0.5, val_loss=v, val_acc=0.5, epoch_time=1.0,
                     images_per_sec=1.0)  # fmt: skip
        return h

    with pytest.raises(CheckFailed, match="val_loader=val_loader"):
        checks.check_test_accuracy(net, history(float("nan")), target=0.0)
    loss = _test_digit_loss(net)
    with pytest.raises(CheckFailed, match="not the history of this model's run"):
        checks.check_test_accuracy(net, history(loss * 1.4, loss * 0.7), target=0.0)
    checks.check_test_accuracy(net, history(loss * 1.4, loss), target=0.0)  # early stopping's best


def test_leak_p_value_is_uniform_for_exchangeable_losses_and_tiny_for_memorised_ones():
    rng = np.random.default_rng(0)
    pooled = rng.exponential(0.05, size=1000) * (rng.random(1000) < 0.98) + (
        rng.random(1000) < 0.02
    ) * rng.uniform(1, 8, 1000)
    ps = [checks.leak_p_value(*np.split(rng.permutation(pooled), 2)) for _ in range(20)]
    assert min(ps) > 0.01 and max(ps) > 0.3  # honest halves: no alarm
    seen, unseen = pooled[:500] * 0.05, pooled[500:]  # memorised: every loss much smaller
    assert checks.leak_p_value(seen, unseen) < checks.LEAK_P
    assert checks.leak_p_value(seen, unseen) == checks.leak_p_value(seen, unseen)  # seeded


class Memoriser(nn.Module):
    """Perfect on the handed-out test digits (looked up), a fixed guess elsewhere."""

    def __init__(self):
        super().__init__()
        from coursecnn.data import digits, stats

        mean, std = stats(digits("train")[0])
        x, y = checks._digit_batches("test", mean, std)
        self.register_buffer("keys", x.flatten(1))
        self.register_buffer("labels", y)
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        d = torch.cdist(x.flatten(1), self.keys)
        hit = d.min(dim=1).values < 1e-4
        logits = torch.zeros(len(x), 10)
        logits[hit] = 20.0 * nn.functional.one_hot(self.labels[d.argmin(dim=1)[hit]], 10).float()
        logits[~hit, 0] = 1.0
        return logits * self.scale


def test_test_accuracy_refuses_a_model_trained_on_the_test_digits():
    with pytest.raises(CheckFailed, match="trained on the test digits"):
        checks.check_test_accuracy(Memoriser())


# ------------------------------------------------------------------ a training loop by hand
def loop(zero="before", train_each=True, eval_=True, no_grad=True, average="images",
         reduction="mean", step_first=False, val_on_train=False):  # fmt: skip
    F = nn.functional

    def train_loop(model, train_loader, val_loader, optimizer, epochs):
        history = {"train_loss": [], "val_loss": [], "val_acc": []}
        if not train_each:
            model.train()
        for _ in range(epochs):
            if train_each:
                model.train()
            total, n, losses = 0.0, 0, []
            for x, y in train_loader:
                if zero == "before":
                    optimizer.zero_grad()
                loss = F.cross_entropy(model(x), y, reduction=reduction)
                if step_first:
                    optimizer.step()
                loss.backward()
                if zero == "between":
                    optimizer.zero_grad()
                if not step_first:
                    optimizer.step()
                if zero == "after":
                    optimizer.zero_grad()
                total, n = total + loss.item() * len(x), n + len(x)
                losses.append(loss.item())
            history["train_loss"].append(
                {"images": total / n, "batches": sum(losses) / len(losses), "last": losses[-1]}[
                    average
                ]
            )
            if eval_:
                model.eval()
            total, correct, n = 0.0, 0, 0
            with torch.no_grad() if no_grad else torch.enable_grad():
                for x, y in train_loader if val_on_train else val_loader:
                    out = model(x)
                    total += F.cross_entropy(out, y).item() * len(x)
                    correct += (out.argmax(1) == y).sum().item()
                    n += len(x)
            history["val_loss"].append(total / n)
            history["val_acc"].append(correct / n)
        return history

    return train_loop


def test_train_loop_passes_the_right_loops(capsys):
    checks.check_train_loop(loop())
    checks.check_train_loop(loop(zero="after"))  # zeroing after the step is just as right
    out = capsys.readouterr().out
    assert out.count("[train_loop] passed") == 2 and "largest difference 0.0e+00" in out


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        (dict(zero="never"), "never zeroed"),
        (dict(zero="between"), "between loss.backward"),
        (dict(step_first=True), "before loss.backward"),
        (dict(step_first=True, zero="after"), "before loss.backward"),
        (dict(train_each=False), "start of EVERY epoch"),
        (dict(eval_=False), r"call model.eval\(\)"),
        (dict(no_grad=False), "no_grad"),
        (dict(average="batches"), "plain mean of the batch losses"),
        (dict(average="last"), "last batch's loss"),
        (dict(reduction="sum"), "32 times too large"),
        (dict(val_on_train=True), "not train_loader"),
    ],
)
def test_train_loop_names_the_mistakes(kwargs, hint):
    with pytest.raises(CheckFailed, match=hint):
        checks.check_train_loop(loop(**kwargs))


def test_train_loop_wants_a_history_dict():
    right = loop()

    def unfinished(*args):
        raise NotImplementedError()

    for func, hint in [
        (unfinished, "NotImplementedError"),
        (lambda *a: None, "returns nothing"),
        (lambda *a: {"train_loss": right(*a)["train_loss"]}, "keys"),
        (lambda *a: {k: v[:1] for k, v in right(*a).items()}, "one per epoch"),
        (
            lambda *a: {
                k: [100 * x for x in v] if k == "val_acc" else v for k, v in right(*a).items()
            },
            "fraction",
        ),  # fmt: skip
    ]:
        with pytest.raises(CheckFailed, match=hint):
            checks.check_train_loop(func)
