"""Graded checks of notebook 07, GoogLeNet and Inception, ResNet.

References are torch's own layers: parameter counts come from ``parameters()`` of real
:class:`~coursecnn.models.Inception` modules, the factorised convolution is compared with
``torch.nn.functional.conv2d``, batch norm by hand with ``nn.BatchNorm2d`` in both modes (its
output and its updated running statistics), and the residual block with torchvision's ``BasicBlock`` (its
weights loaded into the student's block) on random inputs, in train and in eval mode, forward
and backward. Each check also computes what the classic mistakes give (biases forgotten, no 1x1
reductions, ReLU before the addition, stride on the wrong convolution, ...) so that a failure can
name the mistake it recognises.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from coursecnn.checks._guard import (
    BUILD_MODULE,
    declare,
    student_code,
)
from coursecnn.checks._remote import forward_backward, module_like, observe
from coursecnn.checks._report import CheckFailed, as_ints, call_student, fail, passed

__all__ = [
    "check_batch_norm_forward",
    "check_inception_params",
    "check_factorised_conv",
    "check_residual_block",
]


# ------------------------------------------------------------------------- Inception parameters
#: (in_channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj)
INCEPTION_CASES = [
    (192, 64, 96, 128, 16, 32, 32),  # GoogLeNet Table 1, inception (3a)
    (832, 384, 192, 384, 48, 128, 128),  # inception (5b)
    (10, 4, 3, 5, 2, 7, 6),  # small and all different: swapped arguments show
    (1, 1, 1, 1, 1, 1, 1),
]


def _inception_count(args: tuple[int, ...], naive: bool) -> int:
    from coursecnn.models import Inception

    with torch.device("meta"):
        return sum(p.numel() for p in Inception(*args, naive=naive).parameters())


def _conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def _inception_mistakes(args: tuple[int, ...], naive: bool) -> list[tuple[int, str]]:
    """What the classic wrong formulas give for one case, with the mistake each names."""
    c, n1, r3, n3, r5, n5, pp = args
    out = []

    def reduced(bias=True, k3=3, k5=5, reduce=True, proj=True):
        total = _conv(c, n1, 1, bias)
        total += (_conv(c, r3, 1, bias) + _conv(r3, n3, k3, bias)) if reduce else _conv(c, n3, k3)
        total += (_conv(c, r5, 1, bias) + _conv(r5, n5, k5, bias)) if reduce else _conv(c, n5, k5)
        return total + (_conv(c, pp, 1, bias) if proj else 0)

    def naive_count(bias=True, k5=5, proj=False):
        total = _conv(c, n1, 1, bias) + _conv(c, n3, 3, bias) + _conv(c, n5, k5, bias)
        return total + (_conv(c, pp, 1, bias) if proj else 0)

    if naive:
        out += [
            (naive_count(bias=False), "the biases are missing: every conv has one per output map"),
            (reduced(), "naive=True: no 1x1 reductions and no pool projection in the naive module"),
            (
                naive_count(proj=True),
                "the naive module's pool branch has no parameters: it "
                "passes all in_channels maps on, without a 1x1 projection",
            ),  # fmt: skip
            (naive_count(k5=3), "the 5x5 branch has 25 weights per input map and output map"),
            (
                c * n1 + c * n3 * 3 + c * n5 * 5 + n1 + n3 + n5,
                "a k x k kernel has k * k weights per input map, not k",
            ),
        ]
    else:
        out += [
            (reduced(bias=False), "the biases are missing: every conv has one per output map"),
            (
                reduced(reduce=False),
                "the 3x3 and 5x5 convolutions see the reduced maps (#3x3 reduce, #5x5 reduce), "
                "not all in_channels: that is the saving of the 1x1 reductions",
            ),
            (
                reduced(reduce=False) + _conv(c, r3, 1) + _conv(c, r5, 1),
                "the 3x3 and 5x5 convolutions see the reduced maps (#3x3 reduce, #5x5 reduce) "
                "that the 1x1 reductions make, not all in_channels",
            ),
            (reduced(k5=3), "the 5x5 branch has 25 weights per input map and output map"),
            (reduced(proj=False), "the pool branch ends with a 1x1 projection to pool_proj maps"),
            (naive_count(), "naive=False: the module with 1x1 reductions and a pool projection"),
            (
                _conv(c, n1, 1)
                + _conv(c, r3, 1)
                + _conv(r3, n3, 3)
                + _conv(c, r5, 1)
                + _conv(r5, n5, 5)
                + _conv(n1 + n3 + n5, pp, 1),
                "the pool projection acts on the pooled input (in_channels maps)",
            ),
            (
                c * n1
                + c * r3
                + r3 * n3 * 3
                + c * r5
                + r5 * n5 * 5
                + c * pp
                + n1
                + r3
                + n3
                + r5
                + n5
                + pp,
                "a k x k kernel has k * k weights per input map, not k",
            ),  # fmt: skip
        ]
    return out


def check_inception_params(func: Callable[..., Any]) -> None:
    """``func(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, naive=False)``
    -> the number of parameters (weights and biases) of an Inception v1 module."""
    check = "inception_params"
    for args in INCEPTION_CASES:
        for naive in (False, True):
            expected = _inception_count(args, naive)
            case = f"inception_params{args}, naive={naive}"
            got = call_student(check, func, *args, naive=naive)
            got = as_ints(check, got, f"{expected:,}", case)
            if got == expected:
                continue
            for wrong, mistake in _inception_mistakes(args, naive):
                if got == wrong and wrong != expected:
                    fail(check, f"{case} = {expected:,}", f"{got:,}", mistake)
            fail(
                check,
                f"{case} = {expected:,}",
                f"{got:,}",
                "a k x k conv from a to b maps has a * b * k * k weights and b biases; add "
                "the branches: 1x1 | 1x1 reduce -> 3x3 | 1x1 reduce -> 5x5 | pool -> 1x1 "
                "(naive: 1x1 | 3x3 | 5x5 | pool, all on the input)",
            )
    reduced, naive = (_inception_count(INCEPTION_CASES[0], n) for n in (False, True))
    passed(check, f"{reduced:,} parameters in inception (3a), {naive:,} in its naive version")


# ------------------------------------------------------------------- factorised n x n as 1xn, nx1
FACTOR_CASES = [(4, 6, 3), (3, 5, 5), (2, 2, 7), (1, 1, 3)]  # (c_in, c_out, k)


def _leaves(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if next(m.children(), None) is None]


def _positive_copy(model: nn.Module) -> nn.Module:
    """A copy with every weight positive and biases 0: no ReLU then clips anything."""
    m = copy.deepcopy(model).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(p.abs() + 0.1) if p.ndim > 1 else p.zero_()
    return m


def _support(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
    """(rows, columns) of the input pixels that one central output pixel depends on."""
    x = torch.rand(*shape, dtype=torch.float64, requires_grad=True)
    out = model(x)
    i, j = out.shape[-2] // 2, out.shape[-1] // 2
    out[:, :, i, j].sum().backward()
    nz = x.grad.abs().sum(dim=(0, 1)) > 0
    rows = torch.nonzero(nz.any(dim=1)).flatten()
    cols = torch.nonzero(nz.any(dim=0)).flatten()
    if len(rows) == 0:
        return 0, 0
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def check_factorised_conv(func: Callable[..., Any]) -> None:
    """``func(c_in, c_out, k)`` -> ``nn.Sequential``: a 1 x k conv (c_in -> c_out), a ReLU, a
    k x 1 conv (c_out -> c_out), no biases, the map size kept; together a k x k receptive field
    with ``k * c_in * c_out + k * c_out**2`` weights."""
    check = "factorised_conv"
    g = torch.Generator().manual_seed(7)
    for c_in, c_out, k in FACTOR_CASES:
        case = f"factorised_conv({c_in}, {c_out}, {k})"
        model = call_student(check, func, c_in, c_out, k)
        if not isinstance(model, nn.Module):
            fail(check, f"{case}: an nn.Module", type(model).__name__, "return nn.Sequential(...)")
        leaves = _leaves(model)
        kinds = [type(m).__name__ for m in leaves]
        convs = [m for m in leaves if isinstance(m, nn.Conv2d)]
        if len(convs) == 1 and tuple(convs[0].kernel_size) == (k, k):
            fail(
                check,
                f"{case}: a 1x{k} conv, a ReLU, a {k}x1 conv",
                kinds,
                f"one {k}x{k} convolution is what is being replaced: split it in two",
            )
        if kinds != ["Conv2d", "ReLU", "Conv2d"]:
            mistake = "the layers are nn.Conv2d, nn.ReLU, nn.Conv2d, in that order"
            if kinds == ["Conv2d", "Conv2d"]:
                mistake = "Inception v3 puts a ReLU between the two convolutions"
            elif kinds[:3] == ["Conv2d", "ReLU", "Conv2d"]:
                mistake = "the module ends with the k x 1 convolution (the next layer adds its own)"
            fail(check, f"{case}: layers Conv2d, ReLU, Conv2d", kinds, mistake)
        first, second = convs
        kernels = [tuple(first.kernel_size), tuple(second.kernel_size)]
        if kernels != [(1, k), (k, 1)]:
            if kernels == [(k, 1), (1, k)]:
                mistake = "1 x k first (one row, k columns), then k x 1"
            elif kernels in ([(1, k), (1, k)], [(k, 1), (k, 1)]):
                mistake = "two kernels along the same axis see a line, not a k x k square"
            elif kernels == [(1, 3), (3, 1)]:
                mistake = "use the argument k, not a fixed 3"
            else:
                mistake = "kernel_size=(1, k) for the first conv and (k, 1) for the second"
            fail(check, f"{case}: kernels [(1, {k}), ({k}, 1)]", kernels, mistake)
        chans = [(first.in_channels, first.out_channels), (second.in_channels, second.out_channels)]
        if chans != [(c_in, c_out), (c_out, c_out)]:
            fail(
                check,
                f"{case}: channels [({c_in}, {c_out}), ({c_out}, {c_out})]",
                chans,
                "the first conv maps c_in to c_out channels, the second c_out to c_out",
            )
        if first.bias is not None or second.bias is not None:
            fail(
                check,
                f"{case}: no biases",
                "a conv with a bias",
                "bias=False: in Inception v2/v3 each conv is followed by batch norm, which "
                "has its own shift",
            )
        x = torch.randn(2, c_in, 9, 14, generator=g, dtype=torch.float64)
        try:
            with torch.no_grad(), student_code(check):
                out = copy.deepcopy(model).double()(x)
        except Exception as err:
            fail(check, f"{case}: a forward pass on {tuple(x.shape)}", repr(err), "check padding")
        if tuple(out.shape) != (2, c_out, 9, 14):
            mistake = (
                f"pad only along the kernel's long side: padding=(0, {k // 2}) for 1 x {k}, "
                f"({k // 2}, 0) for {k} x 1"
            )
            if out.ndim == 4 and (out.shape[-2] < 9 or out.shape[-1] < 14):
                mistake = "the map must keep its size: stride 1, and " + mistake
            fail(
                check,
                f"{case}: output shape (2, {c_out}, 9, 14) for an input (2, {c_in}, 9, 14)",
                tuple(out.shape),
                mistake,
            )
        w1, w2 = first.weight.detach().double(), second.weight.detach().double()
        p = k // 2
        ref = F.conv2d(F.relu(F.conv2d(x, w1, padding=(0, p))), w2, padding=(p, 0))
        if not torch.allclose(out, ref, atol=1e-10, rtol=1e-8):
            fail(
                check,
                f"{case}: conv2d(relu(conv2d(x, w1, padding=(0, {p}))), w2, padding=({p}, 0))",
                f"outputs that differ by up to {(out - ref).abs().max().item():.3g}",
                "stride 1, no dilation, no groups: only kernel_size, padding and bias=False "
                "change from the defaults",
            )
        n = sum(q.numel() for q in model.parameters())
        if n != k * c_in * c_out + k * c_out * c_out:
            fail(check, f"{case}: {k * c_in * c_out + k * c_out * c_out} weights", n,
                 "an extra layer has parameters")  # fmt: skip
        with student_code(check):
            rf = _support(_positive_copy(model), (1, c_in, 2 * k + 3, 2 * k + 5))
        if rf != (k, k):
            fail(check, f"{case}: a {k}x{k} receptive field", f"{rf[0]}x{rf[1]}", "see above")
    passed(check, "1xk then kx1: a kxk receptive field with 2k instead of k*k weights per map pair")


# ---------------------------------------------------------------------------- the residual block
#: (in_channels, out_channels, stride, what the shortcut must be)
BLOCK_CASES = [
    (8, 8, 1, "the identity (same shape)"),
    (8, 8, 2, "a projection (stride 2, channels unchanged)"),
    (6, 10, 1, "a projection (channels 6 -> 10, stride 1)"),
    (6, 10, 2, "a projection (channels 6 -> 10 and stride 2)"),
]


def _reference_block(c_in: int, c_out: int, stride: int, seed: int) -> nn.Module:
    """torchvision's BasicBlock with option-B downsampling, random weights and BN statistics."""
    from torchvision.models.resnet import BasicBlock

    g = torch.Generator().manual_seed(seed)
    down = None
    if stride != 1 or c_in != c_out:
        down = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
    block = BasicBlock(c_in, c_out, stride, downsample=down).double()
    with torch.no_grad():
        for name, t in block.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var") or (name.endswith("weight") and t.ndim == 1):
                t.copy_(0.5 + 1.5 * torch.rand(t.shape, generator=g, dtype=t.dtype))
            else:
                t.copy_(0.5 * torch.randn(t.shape, generator=g, dtype=t.dtype))
    return block


def _student_state(ref: nn.Module) -> dict[str, torch.Tensor]:
    """The reference's state under the exercise's names (``downsample`` -> ``shortcut``)."""
    return {k.replace("downsample.", "shortcut."): v.clone() for k, v in ref.state_dict().items()}


def _explain_keys(missing: set[str], unexpected: set[str], what: str) -> str:
    projection = "a projection" in what
    if projection and any(k.startswith("shortcut.0.") for k in missing):
        return (
            f"the shortcut must be {what}: self.shortcut = nn.Sequential(nn.Conv2d(in_channels, "
            "out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)) whenever the "
            "stride or the number of channels changes"
        )
    if projection and any(k.startswith("shortcut.1.") for k in missing):
        return "the 1x1 projection is followed by its own nn.BatchNorm2d(out_channels)"
    if not projection and any(k.startswith("shortcut.") for k in unexpected):
        return (
            "when neither the stride nor the channels change, the shortcut is the identity "
            "(no parameters): project only where the shape changes"
        )
    if any(k.endswith(".bias") and k.startswith(("conv", "shortcut.0")) for k in unexpected):
        return "bias=False in every conv: the batch norm after it has its own shift"
    if any(k.startswith(("bn1", "bn2")) for k in missing):
        return (
            "each 3x3 conv has its own nn.BatchNorm2d, named bn1 and bn2 (one module used "
            "twice would share its statistics)"
        )
    return (
        "name the layers conv1, bn1, conv2, bn2 and shortcut (an nn.Sequential of the 1x1 conv "
        "and its BatchNorm2d where the shape changes)"
    )


def _candidates(ref: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Outputs of classic wrong blocks with the reference's weights, in the reference's mode."""
    r = ref
    sc = r.downsample(x) if r.downsample is not None else x
    h = F.relu(r.bn1(r.conv1(x)))
    res = r.bn2(r.conv2(h))
    after_add = "the residual branch ends with bn2; add the shortcut, then apply the ReLU"
    out = {
        "the final ReLU is missing: out = relu(bn2(conv2(...)) + shortcut(x))": res + sc,
        f"the ReLU comes before the addition: {after_add}": F.relu(res) + sc,
        f"ReLU before and after the addition: {after_add}": F.relu(F.relu(res) + sc),
        "the ReLU after bn1 is missing": F.relu(r.bn2(r.conv2(r.bn1(r.conv1(x)))) + sc),
        "batch norm after the addition: bn2 normalises conv2's output, before the shortcut "
        "is added": F.relu(r.bn2(r.conv2(h) + sc)),
    }
    s = r.conv1.stride[0]
    if s != 1:
        h1 = F.relu(r.bn1(F.conv2d(x, r.conv1.weight, padding=1)))
        res1 = r.bn2(F.conv2d(h1, r.conv2.weight, stride=s, padding=1))
        out["the stride belongs to the first 3x3 conv (conv1), not the second"] = F.relu(res1 + sc)
    return out


def _build(check: str, cls: Any, c_in: int, c_out: int, stride: int, case: str) -> nn.Module:
    block = call_student(check, cls, c_in, c_out, stride)
    if not module_like(check, block):
        fail(check, f"{case}: an nn.Module", type(block).__name__, "subclass nn.Module")
    return block.double()


def _load(check: str, block: nn.Module, state: dict, case: str, what: str) -> None:
    got_keys = set(block.state_dict())
    missing, unexpected = set(state) - got_keys, got_keys - set(state)
    if missing or unexpected:
        fail(
            check,
            f"{case}: parameters and buffers {sorted(state)}",
            f"missing {sorted(missing)}, unexpected {sorted(unexpected)}",
            _explain_keys(missing, unexpected, what),
        )
    try:
        block.load_state_dict(state)
    except RuntimeError as err:
        fail(
            check,
            f"{case}: layers of the right shapes",
            str(err).split("\n")[-1].strip() or repr(err),
            "conv1: 3x3, in -> out channels, stride, padding 1; conv2: 3x3, out -> out, "
            "padding 1; the projection: 1x1, in -> out, stride",
        )


def _forward(check: str, block: nn.Module, x: torch.Tensor, case: str, mode: str):
    try:
        with student_code(check):
            return block(x)
    except CheckFailed:
        raise
    except Exception as err:
        fail(
            check,
            f"{case}, {mode}: a forward pass on a batch {tuple(x.shape)}",
            f"{type(err).__name__}: {err}",
            "shapes do not fit: the shortcut must have the residual branch's shape (a 1x1 "
            "projection with the same stride where the stride or the channels change), and "
            "every 3x3 conv has padding=1",
        )


def _forward_backward(check: str, block: Any, x: torch.Tensor, up: torch.Tensor, case: str):
    """The student's block in train mode, forward and backward (where the block lives):
    ``(output, dL/dx, x afterwards)`` for L = sum(output * up)."""
    try:
        return observe(check, forward_backward, check, block, x.clone(), up)
    except CheckFailed:
        raise
    except Exception as err:
        fail(
            check,
            f"{case}, train mode: a forward and a backward pass on a batch {tuple(x.shape)}",
            f"{type(err).__name__}: {err}",
            "shapes do not fit: the shortcut must have the residual branch's shape (a 1x1 "
            "projection with the same stride where the stride or the channels change), and "
            "every 3x3 conv has padding=1",
        )


def _compare(check, got, ref_out, ref, x, case, mode) -> None:
    if not isinstance(got, torch.Tensor) or got.shape != ref_out.shape:
        fail(
            check,
            f"{case}, {mode}: an output of shape {tuple(ref_out.shape)}",
            tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__,
            "the stride goes on conv1 and on the projection, padding=1 on both 3x3 convs",
        )
    if torch.allclose(got, ref_out, atol=1e-9, rtol=1e-7):
        return
    with torch.no_grad():
        for mistake, wrong in _candidates(ref, x).items():
            if wrong.shape == got.shape and torch.allclose(got, wrong, atol=1e-9, rtol=1e-7):
                fail(check, f"{case}, {mode}: torchvision's output", "another output", mistake)
    hint = (
        "relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)): batch norm before the addition, "
        "the final ReLU after it"
    )
    if mode == "eval mode":
        hint = (
            "the block is right in train mode but not in eval mode: use nn.BatchNorm2d modules "
            "(in eval mode they normalise with their running statistics), not batch statistics "
            "computed in forward"
        )
    fail(
        check,
        f"{case}, {mode}: the output of torchvision's BasicBlock with the same weights",
        f"outputs that differ by up to {(got - ref_out).abs().max().item():.3g}",
        hint,
    )


def check_residual_block(cls: Any) -> None:
    """``cls(in_channels, out_channels, stride)``: ResNet's basic block, layers named ``conv1``,
    ``bn1``, ``conv2``, ``bn2`` and ``shortcut``, equal to torchvision's ``BasicBlock`` (option B
    projection where the shape changes) in train and eval mode, forward and backward."""
    check = "residual_block"
    for seed, (c_in, c_out, stride, what) in enumerate(BLOCK_CASES):
        case = f"ResidualBlock({c_in}, {c_out}, stride={stride})"
        ref = _reference_block(c_in, c_out, stride, seed)
        state = _student_state(ref)
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.randn(4, c_in, 7, 9, generator=g, dtype=torch.float64)

        block = _build(check, cls, c_in, c_out, stride, case)
        _load(check, block, state, case, what)
        # train mode: batch statistics, running statistics updated, gradients
        block.train(), ref.train()
        xr = x.clone().requires_grad_()
        ref_out = ref(xr)
        up = torch.randn(ref_out.shape, generator=g, dtype=torch.float64)
        got, grad_x, x_after = _forward_backward(check, block, x, up, case)
        _compare(check, got, ref_out, copy.deepcopy(ref), x, case, "train mode")
        if not torch.equal(x_after, x):
            fail(check, f"{case}: the input left as it was", "a changed input",
                 "an in-place operation (relu_, +=) on x itself")  # fmt: skip
        (ref_out * up).sum().backward()
        if grad_x is None or not torch.allclose(grad_x, xr.grad, atol=1e-8, rtol=1e-6):
            fail(
                check,
                f"{case}: dL/dx equal to torchvision's",
                "another gradient" if grad_x is not None else "no gradient",
                "the gradient must flow through both paths: do not detach the shortcut",
            )
        for name in ("bn1", "bn2"):
            mine = getattr(block, name, None)
            theirs = getattr(ref, name)
            if not isinstance(mine, nn.BatchNorm2d) or not torch.allclose(
                mine.running_mean, theirs.running_mean
            ):
                fail(
                    check,
                    f"{case}: {name}'s running mean updated once by one training batch",
                    "another running mean",
                    f"call {name} exactly once in forward, on its conv's output",
                )
        # eval mode: running statistics, with the state loaded afresh
        block = _build(check, cls, c_in, c_out, stride, case)
        _load(check, block, state, case, what)
        ref = _reference_block(c_in, c_out, stride, seed)
        block.eval(), ref.eval()
        with torch.no_grad():
            got, ref_out = _forward(check, block, x.clone(), case, "eval mode"), ref(x.clone())
            _compare(check, got, ref_out, ref, x, case, "eval mode")
    passed(
        check,
        "equal to torchvision's BasicBlock in train and eval mode, with the identity or a 1x1 "
        "projection where the stride or the channels change",
    )


# ------------------------------------------------------------------------- batch norm by hand
#: (N, C, H, W, momentum, eps): batch, channels and sides all different; a second momentum
BN_CASES = [(4, 3, 5, 6, 0.1, 1e-5), (2, 5, 3, 2, 0.3, 1e-3), (6, 1, 1, 1, 0.1, 1e-5)]


def _bn_reference(x, gamma, beta, rm, rv, training, momentum, eps):
    bn = nn.BatchNorm2d(x.shape[1], eps=eps, momentum=momentum).double()
    with torch.no_grad():
        bn.weight.copy_(gamma)
        bn.bias.copy_(beta)
        bn.running_mean.copy_(rm)
        bn.running_var.copy_(rv)
    bn.train(training)
    with torch.no_grad():
        y = bn(x)
    return y, bn.running_mean.clone(), bn.running_var.clone()


def _bn_mistakes(x, gamma, beta, rm, rv, training, momentum, eps) -> list[tuple[tuple, str]]:
    """What the classic mistakes return, each with its name."""
    axes = (0, 2, 3)
    mu, var = x.mean(axes), x.var(axes, unbiased=False)
    var_u = x.var(axes, unbiased=True) if x[:, 0].numel() > 1 else var

    def norm(m, v, e=eps):
        shape = (1, -1, 1, 1)
        return gamma.view(shape) * (x - m.view(shape)) / torch.sqrt(v.view(shape) + e) + beta.view(
            shape
        )

    def upd(m, v, mom=momentum):
        return (1 - mom) * rm + mom * m, (1 - mom) * rv + mom * v

    if not training:
        return [
            ((norm(mu, var), rm, rv), "in eval mode, normalise with the running statistics, not "
             "with the batch's"),
            ((norm(mu, var), *upd(mu, var_u)), "in eval mode, use the running statistics and leave "
             "them as they are"),
            ((norm(rm, rv, 0.0), rm, rv), "add eps to the variance before the square root"),
        ]  # fmt: skip
    per_sample_mu = x.mean((1, 2, 3), keepdim=True)
    per_sample_var = x.var((1, 2, 3), unbiased=False, keepdim=True)
    layer = gamma.view(1, -1, 1, 1) * (x - per_sample_mu) / torch.sqrt(
        per_sample_var + eps
    ) + beta.view(1, -1, 1, 1)
    return [
        ((norm(mu, var_u), *upd(mu, var_u)), "normalise with the biased variance (divide by "
         "N*H*W); only the running variance uses the unbiased one"),
        ((norm(mu, var), *upd(mu, var)), "update the running variance with the unbiased batch "
         "variance (N*H*W - 1 in the denominator), as torch does"),
        ((norm(mu, var), momentum * rm + (1 - momentum) * mu, momentum * rv + (1 - momentum) *
          var_u), "new running = (1 - momentum) * old + momentum * batch: momentum weighs the "
         "batch, not the old value"),
        ((norm(rm, rv), rm, rv), "in train mode, normalise with the batch's own statistics"),
        ((norm(mu, var), rm, rv), "in train mode, update the running statistics"),
        ((layer, *upd(mu, var_u)), "the statistics are per channel, over the batch and the "
         "positions (axes 0, 2, 3), not per image"),
        ((norm(mu, var, 0.0), *upd(mu, var_u)), "add eps to the variance before the square root"),
        (((x - mu.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + eps), *upd(mu, var_u)),
         "scale by gamma and shift by beta after normalising"),
    ]  # fmt: skip


def _close(a: Any, b: torch.Tensor) -> bool:
    return (
        isinstance(a, torch.Tensor)
        and a.shape == b.shape
        and torch.allclose(a.double(), b, atol=1e-8, rtol=1e-6)
    )


def check_batch_norm_forward(func: Callable[..., Any]) -> None:
    """``func(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5)`` ->
    ``(y, new_running_mean, new_running_var)``, equal to ``nn.BatchNorm2d`` in train and eval mode,
    with the inputs left as they were."""
    check = "batch_norm_forward"
    for seed, (n, c, h, w, momentum, eps) in enumerate(BN_CASES):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64) * 2 + 1
        gamma = torch.rand(c, generator=g, dtype=torch.float64) + 0.5
        beta = torch.randn(c, generator=g, dtype=torch.float64)
        rm = torch.randn(c, generator=g, dtype=torch.float64)
        rv = torch.rand(c, generator=g, dtype=torch.float64) + 0.5
        for training in (True, False):
            mode = "train mode" if training else "eval mode"
            case = f"x of shape {(n, c, h, w)}, momentum={momentum}, eps={eps:g}, {mode}"
            args = [t.clone() for t in (x, gamma, beta, rm, rv)]
            got = call_student(check, func, *args, training, momentum=momentum, eps=eps)
            # inputs changed in place fail in call_student's audit (see the rules below)
            if not (isinstance(got, tuple | list) and len(got) == 3):
                fail(check, f"{case}: a tuple (y, new_running_mean, new_running_var)",
                     got if not isinstance(got, torch.Tensor) else f"one tensor {tuple(got.shape)}",
                     "return all three, also in eval mode (the running statistics unchanged)")  # fmt: skip
            ref = _bn_reference(x, gamma, beta, rm, rv, training, momentum, eps)
            if all(_close(a, b) for a, b in zip(got, ref, strict=True)):
                continue
            names = ("y", "new_running_mean", "new_running_var")
            wrong = next(
                k for k, (a, b) in enumerate(zip(got, ref, strict=True)) if not _close(a, b)
            )
            mistake = "compare with the formula: y = gamma (x - mu) / sqrt(var + eps) + beta"
            for candidate, named in _bn_mistakes(x, gamma, beta, rm, rv, training, momentum, eps):
                if _close(got[wrong], candidate[wrong]):  # the first wrong output, explained
                    mistake = named
                    break
            shown = got[wrong]
            fail(
                check,
                f"{case}: {names[wrong]} equal to nn.BatchNorm2d's, "
                f"{ref[wrong].flatten()[:3].tolist()} ...",
                shown.flatten()[:3].tolist() if isinstance(shown, torch.Tensor) else shown,
                mistake,
            )
    passed(
        check,
        "equal to nn.BatchNorm2d in train mode (batch statistics, running averages updated with "
        "the unbiased variance) and in eval mode (running statistics)",
    )


# ------------------------------------------------------------- what each exercise rules out
declare("inception_params", "the parameter count", forbid=BUILD_MODULE)
declare(
    "factorised_conv",
    "the factorised convolution",
    rng=True,  # building layers draws their initial weights
    forbid=["torchvision.models.inception:BasicConv2d"],
)
declare(
    "residual_block",
    "the residual block",
    rng=True,  # building layers draws their initial weights
    forbid=["torchvision.models.resnet:BasicBlock", "torchvision.models.resnet:Bottleneck"],
    subclass=[
        "coursecnn.models:BasicBlock",
        "coursecnn.models:Bottleneck",
        "torchvision.models.resnet:BasicBlock",
        "torchvision.models.resnet:Bottleneck",
    ],
)
declare(
    "batch_norm_forward",
    "batch normalisation",
    forbid=[
        "torch.nn.functional:batch_norm",
        "torch:batch_norm",
        "torch.nn:BatchNorm2d",
        "torch.nn:BatchNorm1d",
        "torch.nn.functional:instance_norm",
    ],
    changed_hint="compute new tensors; do not update running_mean or running_var in place",
)
