"""``summary(model, input_size)``: one row per layer with output shape, parameters,
multiply-adds and receptive field.

How each column is measured:

- **output shape**: a forward hook on every leaf module (a module with no children), so a layer
  called twice (shared weights) gives two rows; its parameters are counted in the first only.
- **MACs** (multiply-accumulates): ``torch.utils.flop_counter.FlopCounterMode`` runs around
  the whole forward pass; a leaf's MACs are the counter's growth during that leaf, halved
  (torch counts a multiply-add as 2 FLOPs). Torch counts convolutions and matrix products only,
  so pooling, normalisation and activations show 0. ``total_macs`` also holds any product done
  outside a leaf (e.g. ``torch.matmul`` in a forward method). A masked or table convolution
  (:class:`~coursecnn.models.lenet.TableConv2d`) is counted as the dense convolution it runs.
- **receptive field** (``rf``, in input pixels) and its stride (``rf_stride``, the "jump": input
  pixels between neighbouring outputs): every tensor carries (rf, jump) from the input onwards.
  A layer with a kernel (conv, pooling, :class:`~coursecnn.models.lenet.TableConv2d`) maps
  ``rf -> rf + (k - 1) * dilation * jump`` and ``jump -> jump * stride``; any other operation
  passes on the largest (rf, jump) among its tensor inputs, so parallel branches that are
  concatenated (Inception) or added (a residual shortcut) report the largest branch. For 2-D
  kernels height and width are followed apart (a 1x3 then a 3x1 sees 3x3, not 5x5) and the
  columns show the larger of the two; 1-D and 3-D kernels count their largest side on both.
  Outputs that are not spatial maps (fewer than 3 dimensions,
  e.g. after ``Flatten`` or ``Linear``), global/adaptive pooling, transposed convolutions and
  unpooling report ``None`` (printed "-"), and so does everything computed from them.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import FlopCounterMode

_UNTRACKED = (
    nn.modules.conv._ConvTransposeNd,
    nn.MaxUnpool1d,
    nn.MaxUnpool2d,
    nn.MaxUnpool3d,
    nn.AdaptiveAvgPool1d,
    nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
    nn.Linear,
)


COLUMNS = ("layer", "type", "output shape", "params", "MACs", "rf", "rf stride")


@dataclass
class LayerRow:
    """One leaf-module call. A module called again (shared weights) has ``params`` 0 from its
    second call on, and ``shared`` True if it has parameters."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int
    rf: int | None
    rf_stride: int | None
    shared: bool = False


@dataclass
class ModelSummary:
    """The rows and the totals; ``str()`` prints an aligned table."""

    rows: list[LayerRow]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    total_macs: int
    model_name: str = ""

    def _cells(self) -> list[list[str]]:
        def dash(v):
            return "-" if v is None else f"{v:,}"

        return [
            [
                r.name,
                r.type,
                "x".join(map(str, r.output_shape)),
                ("(shared)" if r.shared else f"{r.params:,}"),
                f"{r.macs:,}",
                dash(r.rf),
                dash(r.rf_stride),
            ]
            for r in self.rows
        ]

    def _footer(self) -> list[str]:
        return [
            f"input: {'x'.join(map(str, self.input_shape))}, "
            f"output: {'x'.join(map(str, self.output_shape))}",
            f"total params: {self.total_params:,} (trainable {self.trainable_params:,})",
            f"total MACs: {self.total_macs:,}",
        ]

    def __str__(self) -> str:
        cells = [list(COLUMNS), *self._cells()]
        widths = [max(len(row[j]) for row in cells) for j in range(len(COLUMNS))]
        left = {0, 1, 2}

        def fmt(row):
            return "  ".join(
                c.ljust(w) if j in left else c.rjust(w)
                for j, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()

        rule = "-" * len(fmt(cells[0]))
        lines = [self.model_name] if self.model_name else []
        lines += [rule, fmt(cells[0]), rule, *map(fmt, cells[1:]), rule, *self._footer()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self._cells()
        )
        foot = "<br>".join(self._footer())
        return f"<table><tr>{head}</tr>{body}</table><p>{foot}</p>"


#: (rf along H, rf along W, jump along H, jump along W), or None once the map is gone.
_RF = tuple[int, int, int, int]


class _ReceptiveFields(TorchFunctionMode):
    """Carries (rf_h, rf_w, jump_h, jump_w) from every tensor input of every torch call to its
    outputs."""

    def __init__(self):
        super().__init__()
        self.state: dict[int, tuple[torch.Tensor, _RF | None]] = {}

    def get(self, t: torch.Tensor):
        entry = self.state.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else "unknown"

    def set(self, t: torch.Tensor, value: _RF | None) -> None:
        self.state[id(t)] = (t, value)  # the reference keeps the id from being reused

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        leaves = tree_leaves((args, kwargs))
        # a boolean mask (padding, say) selects values; it does not widen what they see
        ins = [self.get(t) for t in leaves if isinstance(t, torch.Tensor) and t.dtype != torch.bool]
        ins = [s for s in ins if s != "unknown"]
        if ins:
            combined = None if None in ins else tuple(max(v) for v in zip(*ins, strict=True))
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor):
                    self.set(t, combined if t.dim() >= 3 else None)
        return out


def _first_tensor(out) -> torch.Tensor | None:
    return next((t for t in tree_leaves(out) if isinstance(t, torch.Tensor)), None)


def _per_axis(v) -> tuple[int, int]:
    """A kernel size, stride or dilation as (along H, along W); other lengths: the largest."""
    if isinstance(v, tuple | list):
        return (int(v[0]), int(v[1])) if len(v) == 2 else (max(v), max(v))
    return int(v), int(v)


def _apply_kernel(module: nn.Module, state):
    """(rf_h, rf_w, jump_h, jump_w) after ``module`` given it before, or ``None`` if not
    tracked."""
    if state is None or isinstance(module, _UNTRACKED):
        return None
    if not hasattr(module, "kernel_size"):
        return state
    ks = _per_axis(module.kernel_size)
    ss = _per_axis(getattr(module, "stride", 1) or module.kernel_size)
    ds = _per_axis(getattr(module, "dilation", 1))
    rfs, jumps = state[:2], state[2:]
    new_rf = [rf + (k - 1) * d * j for rf, k, d, j in zip(rfs, ks, ds, jumps, strict=True)]
    new_jump = [j * s for j, s in zip(jumps, ss, strict=True)]
    return (*new_rf, *new_jump)


def _make_input(input_size, dtype, device) -> torch.Tensor:
    size = tuple(int(s) for s in input_size)
    if len(size) < 4:
        size = (1, *size)
    if dtype is not None and not dtype.is_floating_point:
        return torch.zeros(size, dtype=dtype, device=device)
    return torch.randn(size, dtype=dtype, device=device)


def summary(
    model: nn.Module,
    input_size: tuple[int, ...] | None = None,
    *,
    input_data: torch.Tensor | None = None,
    dtype: torch.dtype | None = None,
) -> ModelSummary:
    """Run one forward pass of ``model`` and tabulate every leaf layer.

    input_size: without the batch, e.g. ``(1, 28, 28)`` (a batch of 1 is added: any size with
    fewer than 4 numbers), or with it, ``(N, C, H, W)``; for token ids pass ``(L,)`` and
    ``dtype=torch.long`` (zeros are used). ``input_data`` instead passes a tensor.
    Runs in eval mode without gradients on the model's device, and restores the model's
    training flag. A model built under ``with torch.device("meta"):`` gives shapes and counts
    without computing anything. Returns a :class:`ModelSummary`; print it for the table.
    """
    if (input_size is None) == (input_data is None):
        raise ValueError("input_size: expected exactly one of input_size and input_data")
    p = next(model.parameters(), None)
    device = p.device if p is not None else torch.device("cpu")
    if input_data is None:
        if len(input_size) == 0 or any(int(s) < 1 for s in input_size):
            raise ValueError(f"input_size: expected positive sizes, got {tuple(input_size)}")
        x = _make_input(input_size, dtype, device)
    else:
        x = input_data.to(device)

    names = {m: n for n, m in model.named_modules()}
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    rows: list[LayerRow] = []
    seen: set[nn.Module] = set()
    counter = FlopCounterMode(display=False)
    rfs = _ReceptiveFields()
    before: dict[nn.Module, list[int]] = {}

    def pre_hook(module, args):
        before.setdefault(module, []).append(counter.get_total_flops())

    def hook(module, args, out):
        flops = counter.get_total_flops() - before[module].pop()
        first_in = _first_tensor(args)
        state = rfs.get(first_in) if first_in is not None else None
        state = _apply_kernel(module, None if state == "unknown" else state)
        y = _first_tensor(out)
        if y is not None:
            state = state if y.dim() >= 3 else None
            rfs.set(y, state)
        repeat = module in seen
        seen.add(module)
        own = 0 if repeat else sum(p.numel() for p in module.parameters())
        rows.append(
            LayerRow(
                name=names.get(module, "") or type(module).__name__,
                type=type(module).__name__,
                output_shape=tuple(y.shape) if y is not None else (),
                params=own,
                macs=flops // 2,
                rf=None if state is None else max(state[:2]),
                rf_stride=None if state is None else max(state[2:]),
                shared=repeat and any(True for _ in module.parameters()),
            )
        )

    handles = []
    for m in leaves:
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), counter, rfs:
            rfs.set(x, (1, 1, 1, 1))
            y = _first_tensor(model(x))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return ModelSummary(
        rows=rows,
        input_shape=tuple(x.shape),
        output_shape=tuple(y.shape) if y is not None else (),
        total_params=sum(p.numel() for p in model.parameters()),
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        total_macs=counter.get_total_flops() // 2,
        model_name=type(model).__name__,
    )
