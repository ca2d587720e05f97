"""summary(): MACs against hand counts, receptive fields against the textbook recursion."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursecnn.models import lenet5, mlp, summary


def rows_by_name(s):
    return {r.name: r for r in s.rows}


def test_lenet5_hand_counts():
    s = summary(lenet5(), (1, 32, 32))
    rows = rows_by_name(s)
    assert rows["c1"].output_shape == (1, 6, 28, 28)
    assert rows["c1"].macs == 6 * 1 * 5 * 5 * 28 * 28 == 117_600
    assert rows["c3"].macs == 16 * 6 * 5 * 5 * 10 * 10
    assert rows["c5"].macs == 120 * 16 * 5 * 5
    assert rows["f6"].macs == 120 * 84
    assert rows["c1"].params == 156 and rows["c5"].params == 48_120
    assert rows["s2"].macs == 0 and rows["s2"].output_shape == (1, 6, 14, 14)
    assert s.total_params == 61_706 == sum(r.params for r in s.rows)
    assert s.total_macs == sum(r.macs for r in s.rows)
    # receptive fields: 5, 6, 14, 16, 32 (C5 sees the whole 32x32 input)
    assert [rows[n].rf for n in ("c1", "s2", "c3", "s4", "c5")] == [5, 6, 14, 16, 32]
    assert [rows[n].rf_stride for n in ("c1", "s2", "c3", "s4", "c5")] == [1, 2, 2, 4, 4]
    assert rows["f6"].rf is None


def test_batch_size_and_table_text():
    s = summary(lenet5(), (4, 1, 32, 32))
    assert s.input_shape == (4, 1, 32, 32)
    assert s.rows[0].macs == 4 * 117_600
    text = str(s)
    assert "117,600" not in text and "470,400" in text
    assert "61,706" in text and "rf" in text
    assert "<table>" in s._repr_html_()


def test_receptive_field_of_a_small_stack():
    # rf_l = rf_{l-1} + (k_l - 1) * d_l * jump_{l-1}; jump_l = jump_{l-1} * s_l
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3),  # rf 3, jump 1
        nn.MaxPool2d(2),  # rf 4, jump 2
        nn.Conv2d(2, 2, 3, stride=2),  # rf 8, jump 4
        nn.Conv2d(2, 2, 3, dilation=2, padding=2),  # rf 8 + 2*2*4 = 24, jump 4
        nn.ReLU(),
    )
    s = summary(model, (1, 64, 64))
    assert [r.rf for r in s.rows] == [3, 4, 8, 24, 24]
    assert [r.rf_stride for r in s.rows] == [1, 2, 4, 4, 4]


class TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.small = nn.Conv2d(1, 2, 1)
        self.large = nn.Conv2d(1, 2, 5, padding=2)
        self.shared = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        y = torch.cat([self.small(x), self.large(x)], dim=1)
        return self.shared(self.shared(y)) + y


def test_branches_take_the_largest_and_shared_layers_count_once():
    s = summary(TwoBranches(), (1, 8, 8))
    assert [r.rf for r in s.rows] == [1, 5, 7, 9]
    assert [r.shared for r in s.rows] == [False, False, False, True]
    assert s.total_params == sum(r.params for r in s.rows) == 4 + 52 + 148


def test_meta_device_and_restores_training_mode():
    with torch.device("meta"):
        model = mlp()
    model.train()
    s = summary(model, (1, 32, 32))
    assert model.training
    assert s.total_macs == 1024 * 512 + 512 * 256 + 256 * 10
    assert s.rows[-1].output_shape == (1, 10)


def test_token_ids_input():
    model = nn.Sequential(nn.Embedding(50, 8), nn.Flatten(), nn.Linear(8 * 7, 2))
    s = summary(model, (7,), dtype=torch.long)
    assert s.rows[0].output_shape == (1, 7, 8)


def test_needs_one_input():
    import pytest

    with pytest.raises(ValueError, match="input_size"):
        summary(mlp())


def _support(model: nn.Module, c_in: int, size: int) -> tuple[int, int]:
    """Rows and columns of the input that the first output pixel depends on (autograd)."""
    x = torch.rand(1, c_in, size, size, dtype=torch.float64, requires_grad=True)
    model(x)[0, :, 0, 0].sum().backward()
    nz = x.grad[0].abs().sum(0) > 0
    rows, cols = nz.any(1).nonzero().flatten(), nz.any(0).nonzero().flatten()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@given(
    layers=st.lists(
        st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 2), st.integers(1, 2)),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=25, deadline=None)
def test_receptive_field_per_axis_matches_autograd(layers):
    """Non-square kernels, strides and dilations: summary's rf is the larger side of the input
    window that autograd finds behind one output pixel (positive weights: nothing cancels)."""
    convs = [
        nn.Conv2d(2, 2, (kh, kw), stride=(s, 1), dilation=(1, d), bias=False)
        for kh, kw, s, d in layers
    ]
    model = nn.Sequential(*convs).double()
    with torch.no_grad():
        for c in convs:
            c.weight.uniform_(0.1, 1.0)
    s = summary(model, input_data=torch.zeros(1, 2, 64, 64, dtype=torch.float64))
    assert s.rows[-1].rf == max(_support(model, 2, 64))


def test_factorised_kernels_see_a_square():
    pair = nn.Sequential(
        nn.Conv2d(1, 1, (1, 3), padding=(0, 1)), nn.Conv2d(1, 1, (3, 1), padding=(1, 0))
    )
    assert [r.rf for r in summary(pair, (1, 9, 13)).rows] == [3, 3]  # 3x3, not 5x5
    line = nn.Sequential(nn.Conv2d(1, 1, (1, 3)), nn.Conv2d(1, 1, (1, 3)))
    assert [r.rf for r in summary(line, (1, 9, 13)).rows] == [3, 5]
