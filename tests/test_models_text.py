"""TextCNN with padding: Kim's wide convolution, and max over time that padding never wins."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from coursecnn.models import text_cnn
from coursecnn.models.text import EMBEDDING_INIT


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    pass


def _reference_features(model, tokens: list[int]) -> torch.Tensor:
    """One sentence alone, no padding id at all: torch's conv1d with padding w - 1, ReLU, max."""
    x = model.embedding.weight[torch.tensor(tokens)].T.unsqueeze(0)  # (1, E, L)
    pooled = []
    for conv in model.convs:
        w = conv.kernel_size[0]
        h = F.relu(F.conv1d(x, conv.weight, conv.bias, padding=w - 1))
        pooled.append(h.amax(dim=2))
    return torch.cat(pooled, dim=1)[0]


def _pooled(model, ids):
    return torch.cat([h.amax(dim=2) for h in model.features(ids)], dim=1)


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    extra=st.integers(0, 6),
    widths=st.sampled_from([(1,), (3,), (2, 5), (3, 4, 5)]),
    seed=st.integers(0, 2**16),
)
def test_padded_batches_give_each_sentence_its_own_features(lengths, extra, widths, seed):
    torch.manual_seed(seed)
    model = text_cnn(20, embed_dim=3, widths=widths, filters=4, padding_idx=0).eval()
    with torch.no_grad():
        for conv in model.convs:
            conv.bias.uniform_(-1, 1)
    sentences = [torch.randint(1, 20, (n,)).tolist() for n in lengths]
    width = max(lengths) + extra
    ids = torch.zeros(len(sentences), width, dtype=torch.long)
    for i, s in enumerate(sentences):
        ids[i, : len(s)] = torch.tensor(s)
    with torch.no_grad():
        got = _pooled(model, ids)
        for i, s in enumerate(sentences):
            torch.testing.assert_close(got[i], _reference_features(model, s))
        alone = model(ids[:1, : lengths[0]])
        torch.testing.assert_close(model(ids)[:1], alone)


def test_a_window_of_padding_alone_never_wins():
    """Without the mask a padding-only window gives ReLU(bias) > 0 and beats every real window."""
    torch.manual_seed(0)
    model = text_cnn(10, embed_dim=2, widths=(2,), filters=1, padding_idx=0).eval()
    with torch.no_grad():
        model.embedding.weight[1:] = 1.0
        model.convs[0].weight.fill_(-1.0)  # every real window: -4 + 1 or -2 + 1 < 0
        model.convs[0].bias.fill_(1.0)
    ids = torch.tensor([[3, 4, 0, 0, 0]])
    (h,) = model.features(ids)
    assert h[0, 0].tolist()[:3] == [0.0, 0.0, 0.0]  # windows with tokens: ReLU(negative) = 0
    assert torch.isinf(h[0, 0, 3:]).all()  # windows of padding only
    assert _pooled(model, ids).item() == 0.0
    # what an unmasked max over the same zero-padded responses would give
    unmasked = F.relu(model.convs[0](model.embedding(ids).transpose(1, 2))).amax()
    assert unmasked.item() == 1.0


def test_one_token_sentences_reach_every_width_and_padding_only_rows_give_zero():
    model = text_cnn(10, embed_dim=4, widths=(3, 4, 5), filters=2, padding_idx=0)
    ids = torch.tensor([[7, 0, 0], [0, 0, 0]])
    out = model(ids)
    assert out.shape == (2, 2) and torch.isfinite(out).all()
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    feats = model.features(ids)
    assert [h.shape[2] for h in feats] == [5, 6, 7]  # L + w - 1
    assert all(torch.isfinite(h[0]).any(dim=1).all() for h in feats)


def test_padding_rows_are_zero_vectors_even_when_the_embedding_row_is_not():
    torch.manual_seed(1)
    model = text_cnn(10, embed_dim=3, widths=(2,), filters=3, padding_idx=0).eval()
    ids = torch.tensor([[5, 6, 0, 0]])
    before = model(ids)
    with torch.no_grad():
        model.embedding.weight[0] = 7.0  # e.g. pretrained vectors loaded over the row
    torch.testing.assert_close(model(ids), before)


def test_kim_embedding_init_and_no_padding_means_every_position_counts():
    torch.manual_seed(0)
    model = text_cnn(500, embed_dim=16, padding_idx=0)
    w = model.embedding.weight
    assert w.abs().max() <= EMBEDDING_INIT and w[1:].std() > 0.1 and (w[0] == 0).all()
    plain = text_cnn(50, embed_dim=4, widths=(3,), filters=2).eval()
    assert plain.convs[0].padding == (0,)
    ids = torch.randint(0, 50, (1, 8))
    (h,) = plain.features(ids)
    assert h.shape == (1, 2, 6) and torch.isfinite(h).all()
    with pytest.raises(ValueError, match="ids: expected a 2-D"):
        plain(ids[0])
