"""One mechanism for every check: forbidden calls raise, side effects fail, warnings go to stdout.

The functions below play the student: this file is neither the package nor a library, so the
guard treats its frames as a student's notebook cell.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import coursecnn.ops as ops
from coursecnn.checks._audit import snapshot
from coursecnn.checks._guard import RULES, ForbiddenCall, Rules, declare, guard
from coursecnn.checks._report import CheckFailed, call_student
from coursecnn.checks.rules import exercise_rules, rules_for
from coursecnn.grading import notebook as nbm
from coursecnn.models import BasicBlock
from coursecnn.ops import conv2d as conv2d_alias  # bound before any check runs

X = np.random.default_rng(0).normal(size=(1, 1, 5, 5))
W = np.ones((1, 1, 3, 3))
B = np.zeros(1)


@pytest.fixture(autouse=True)
def _rules():
    declare(
        "t_conv", "the volume convolution", forbid=["torch.nn.functional:conv2d", "torch.nn:Conv2d"]
    )
    declare("t_block", "the residual block", subclass=["coursecnn.models:BasicBlock"])
    declare("t_pad", "the convolution", allow=["coursecnn.ops:pad2d"])
    declare("t_train", "a training step", mutates=True, rng=True)
    yield
    for k in ("t_conv", "t_block", "t_pad", "t_train"):
        RULES.pop(k, None)


def _message(check, func, *args):
    with pytest.raises(CheckFailed) as err:
        call_student(check, func, *args)
    return str(err.value)


def test_package_reference_is_forbidden_however_it_was_imported():
    for func in (lambda: ops.conv2d(X, W, B), lambda: conv2d_alias(X, W, B)):
        msg = _message("t_conv", func)
        assert "write the volume convolution yourself; you called coursecnn.ops.conv.conv2d" in msg
    assert isinstance(ops.conv2d(X, W, B), np.ndarray | tuple)  # restored afterwards


def test_library_equivalents_named_by_the_exercise_are_forbidden():
    x, w = torch.tensor(X), torch.tensor(W)
    assert "you called torch.nn.functional.conv2d" in _message("t_conv", lambda: F.conv2d(x, w))
    meta = lambda: nn.Conv2d(1, 1, 3, device="meta")  # noqa: E731
    assert "you called torch.nn.Conv2d.__init__" in _message("t_conv", meta)
    assert isinstance(nn.Conv2d(1, 1, 3), nn.Module)  # restored afterwards


def test_subclassing_the_reference_class_is_refused():
    class Mine(BasicBlock):
        pass

    assert "derives from coursecnn.models.BasicBlock" in _message("t_block", Mine, 4, 4)


def test_allowed_reuse_works_and_package_internals_stay_usable():
    assert call_student("t_pad", lambda x: ops.pad2d(x, 1), X).shape == (1, 1, 7, 7)
    # a model built by the check and handed over may run (torch and the package call it)
    declare("t_model", "a saliency map", allow=["coursecnn.models"])
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    out = call_student("t_model", lambda m, x: m(x), net, torch.zeros(1, 1, 5, 5))
    assert out.shape == (1, 2, 3, 3)
    RULES.pop("t_model")


def test_side_effects_fail_the_check():
    def edits(x):
        x[0, 0, 0, 0] = 5.0
        return x

    assert "the values of argument 1" in _message("t_pad", edits, X.copy())

    def mode(m):
        m.train()
        return 1

    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout()).eval()
    assert "mode of the model" in _message("t_pad", mode, net)

    def wipes(m):
        m.zero_grad(set_to_none=True)
        return 1

    net[0].weight.grad = torch.ones(2, 2)
    assert ".grad of 0.weight" in _message("t_pad", wipes, net)

    def hooks(m):
        m[0].register_forward_hook(lambda *a: None)
        return 1

    assert "forward hooks on 0" in _message("t_pad", hooks, nn.Sequential(nn.Linear(2, 2)))

    def bn(m):
        m(torch.randn(4, 2))
        return 1

    assert "buffer 0.running_mean" in _message("t_pad", bn, nn.Sequential(nn.BatchNorm1d(2)))

    def draws():
        random.random()
        return 1

    assert "Python's global random state" in _message("t_pad", draws)
    net = nn.Linear(2, 2)
    assert call_student("t_train", lambda m: m.weight.data.add_(1) is not None, net)


def test_warnings_are_printed_on_stdout_not_stderr(capsys):
    def warns():
        warnings.warn("careful", stacklevel=1)
        return 3

    assert call_student("t_pad", warns) == 3
    out = capsys.readouterr()
    assert "[t_pad] note: your code raised a warning (UserWarning): careful" in out.out
    assert out.err == ""


def test_a_check_without_declared_rules_still_forbids_the_package():
    msg = _message("undeclared", lambda: ops.relu(X))
    assert "you called coursecnn.ops" in msg


def test_guard_restores_everything_when_the_student_code_raises():
    before = ops.conv2d.__code__
    with pytest.raises(ForbiddenCall), guard("t_conv", Rules(write="x")):
        ops.conv2d(X, W, B)
    assert ops.conv2d.__code__ is before


def test_snapshot_sees_nested_arguments():
    a = [np.zeros(2), {"w": torch.zeros(2)}]
    snap = snapshot((a,), {})
    a[1]["w"].add_(1)
    assert snap.changes() == ["the values of argument 1[1]['w']"]


def test_gaussian_kernel_must_refuse_negative_odd_sizes():
    from coursecnn.checks import filters

    def even_only(size, sigma):  # raises for 4 and 0, not for -3
        if size % 2 == 0:
            raise ValueError("size")
        x = np.arange(size) - size // 2
        g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
        return g / g.sum()

    with pytest.raises(CheckFailed, match=r"gaussian_kernel\(-3, 1.0\) raises ValueError"):
        filters.check_gaussian_kernel(even_only)


def _mlp_floats(n, hidden, k):
    widths = [n * n, *hidden, k]
    weights = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return float(weights), float(sum(widths[1:]))


def test_whole_floats_are_not_ints():
    from coursecnn.checks import conv_math, explain, lenet

    with pytest.raises(CheckFailed, match="a float is not an int"):
        lenet.check_mlp_param_count(lambda n, hidden, k: _mlp_floats(n, hidden, k))
    with pytest.raises(CheckFailed, match="a float is not an int"):
        explain.check_receptive_field(
            lambda layers: tuple(float(v) for v in explain._field_by_summary(layers))
        )
    with pytest.raises(CheckFailed):
        conv_math.check_output_size(lambda n, k, stride=1, padding=0, dilation=1: float(
            (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1))  # fmt: skip


def test_capture_must_find_a_layer_inside_a_nested_block_and_survive_an_error():
    from coursecnn.checks import explain

    def top_level_only(model, layer, x):  # runs the children one by one: skips block.forward
        out = x
        with torch.no_grad():
            for child in model:
                out = child(out)
                if child is layer:
                    return out.clone()
        raise ValueError("layer not found among the children")

    with pytest.raises(CheckFailed):
        explain.check_capture(top_level_only)

    def no_finally(model, layer, x):
        kept = []
        handle = layer.register_forward_hook(lambda m, i, o: kept.append(o.detach().clone()))
        with torch.no_grad():
            model(x)
        handle.remove()
        return kept[0]

    with pytest.raises(CheckFailed, match="finally"):
        explain.check_capture(no_finally)


def test_unpooling_that_edits_its_indices_in_place_fails():
    from coursecnn.checks import autoencoders

    def in_place(x, indices, output_size):
        n, c, h, w = x.shape
        out = np.zeros((n, c, output_size[0] * output_size[1]))
        flat = indices.reshape(n, c, -1)
        flat += 0  # harmless so far
        indices -= 0
        for i in range(n):
            for j in range(c):
                out[i, j, flat[i, j]] = x[i, j].reshape(-1)
        indices[...] = 0  # wipes the caller's indices
        return out.reshape(n, c, *output_size)

    with pytest.raises(CheckFailed, match="changed in place"):
        autoencoders.check_max_unpool(in_place)


NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_exercise_text_states_what_its_check_rules_out(path):
    """The exercise's text and its check's declared rules say the same thing
    (``python scripts/rules_text.py`` writes the sentence)."""
    nb = nbm.read(path)
    for md, sentence in exercise_rules(nb):
        if sentence:
            assert sentence in nb.cells[md].source, (path.name, md, sentence)


def test_every_graded_check_has_declared_rules():
    for path in NOTEBOOKS:
        for cell in nbm.read(path).cells:
            if nbm.is_graded(cell):
                assert rules_for(nbm.grade_id(cell)) is not None, (path.name, nbm.grade_id(cell))
