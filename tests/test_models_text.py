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


# -- what the filters respond to ---------------------------------------------------------------


def test_top_ngrams_are_the_strongest_distinct_windows():
    from coursecnn.models import top_ngrams

    torch.manual_seed(3)
    model = text_cnn(12, embed_dim=3, widths=(2, 3), filters=4, padding_idx=0)
    ids = torch.tensor([[5, 6, 7, 0], [5, 6, 8, 9], [11, 10, 0, 0]])
    best = top_ngrams(model, ids, width_index=1, filters=[0, 2], k=3)
    assert model.training  # left as it was
    (h,) = [model.eval().features(ids)[1]]
    padded = F.pad(ids, (2, 2))
    for f, found in zip([0, 2], best, strict=True):
        assert len(found) == 3 and [v for _, v in found] == sorted(
            (v for _, v in found), reverse=True
        )
        values = {}
        for n in range(3):
            for t in range(h.shape[2]):
                if torch.isfinite(h[n, f, t]):
                    window = tuple(padded[n, t : t + 3].tolist())
                    values[window] = max(values.get(window, -1.0), h[n, f, t].item())
        expected = sorted(values.items(), key=lambda kv: -kv[1])[:3]
        assert [round(v, 5) for _, v in found] == [round(v, 5) for _, v in expected]
        assert all(values[w] == pytest.approx(v) for w, v in found)
    with pytest.raises(ValueError, match="width_index"):
        top_ngrams(model, ids, 2, [0])


# -- the bag-of-n-grams baseline ---------------------------------------------------------------


def test_ngrams_of_words_and_characters():
    from coursecnn.models import NgramLogisticRegression, ngrams

    assert ngrams(["a", "b", "c"], (1, 2)) == ["a", "b", "c", "a b", "b c"]
    assert ngrams(list("ab"), (2, 3), sep="") == ["ab"]
    with pytest.raises(ValueError, match="ngram_range"):
        ngrams(["a"], (2, 1))
    chars = NgramLogisticRegression((2, 2), analyzer="char")
    assert chars.features("Ab") == ["^a", "ab", "b$"]
    words = NgramLogisticRegression((1, 2), binary=True)
    assert words.features("Good, good film") == sorted(
        {"good", ",", "film", "good ,", ", good", "good film"}
    )
    with pytest.raises(ValueError, match="analyzer"):
        NgramLogisticRegression(analyzer="bytes")
    with pytest.raises(ValueError, match="fitted"):
        words.predict(["x"])


def test_logistic_regression_matches_scipy_on_the_same_objective():
    """The fitted weights minimise mean cross-entropy + l2/2 |W|^2, as scipy's L-BFGS finds."""
    import numpy as np
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    from coursecnn.models import NgramLogisticRegression

    texts = ["good fun", "good good film", "bad film", "dull bad bad", "fun film", "dull", "good"]
    labels = np.array([1, 1, 0, 0, 1, 0, 2])
    model = NgramLogisticRegression((1, 1), l2=0.1).fit(texts, labels)
    grams = sorted(model.vocabulary_, key=model.vocabulary_.get)
    X = np.array([[model.features(t).count(g) for g in grams] for t in texts], float)
    k = 3

    def objective(theta):
        W, b = theta[:-k].reshape(len(grams), k), theta[-k:]
        z = X @ W + b
        loss = -log_softmax(z, axis=1)[np.arange(len(texts)), labels].mean()
        return loss + 0.1 / 2 * (W**2).sum()

    ref = minimize(objective, np.zeros(len(grams) * k + k), method="L-BFGS-B", tol=1e-12)
    W_ref = ref.x[:-k].reshape(len(grams), k)
    np.testing.assert_allclose(model.weight_[1:].numpy(), W_ref, atol=2e-3)
    assert model.score(texts, labels) == (model.predict(texts) == labels).mean()
    probs = model.predict_proba(["good", "never seen"])
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    top = [g for g, _ in model.top_features(0, 2)]
    assert set(top) <= {"bad", "dull"} and model.top_features(1, 1)[0][0] in ("good", "fun")


def test_summary_traces_the_receptive_field_through_the_padding_mask():
    from coursecnn.models import summary

    rows = summary(text_cnn(100, embed_dim=8, filters=4, padding_idx=0), (12,), dtype=torch.long)
    convs = [r for r in rows.rows if r.name.startswith("convs.")]
    assert [r.rf for r in convs] == [3, 4, 5]
    assert [r.output_shape for r in convs] == [(1, 4, 14), (1, 4, 15), (1, 4, 16)]  # L + w - 1


def test_text_cnn_relus_are_modules_that_never_count_padding_as_firing():
    from coursecnn.train import health_report

    torch.manual_seed(0)
    model = text_cnn(50, embed_dim=8, filters=4, padding_idx=0).eval()
    with torch.no_grad():
        for conv in model.convs:
            conv.weight.zero_()
            conv.bias.fill_(-1.0)  # every real window below 0: every filter dead
        model.convs[0].bias[0] = 1.0  # filter 0 of width 3 fires everywhere
    ids = torch.tensor([[3, 4, 0, 0, 0, 0], [5, 0, 0, 0, 0, 0]])
    loader = [(ids, torch.tensor([0, 1]))]
    report = health_report(model, loader, gradients=False)
    assert [d.name for d in report.dead] == ["relus.0", "relus.1", "relus.2"]
    assert [d.dead for d in report.dead] == [3, 4, 4]
    # the logits are those of max over the windows that hold a token
    pooled = torch.cat([h.amax(dim=2) for h in model.features(ids)], dim=1).clamp_min(0)
    assert torch.equal(pooled[:, 0], torch.ones(2))
    assert torch.equal(pooled[:, 1:], torch.zeros(2, 11))
