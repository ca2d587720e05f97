"""coursecnn.checks.text: right answers pass, each classic mistake fails with its own message."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from coursecnn.checks import CheckFailed
from coursecnn.checks import text as checks
from coursecnn.data.text import movie_reviews, tokenize

# -- vocabulary and encoding -------------------------------------------------------------------


def build_vocab(sentences, min_count=1):
    counts = Counter(t for s in sentences for t in tokenize(s))
    vocab = {"<pad>": 0, "<unk>": 1}
    for token, c in counts.most_common():
        if c >= min_count:
            vocab[token] = len(vocab)
    return vocab


def encode(sentence, vocab):
    return [vocab.get(t, 1) for t in tokenize(sentence)]


@pytest.fixture(scope="module")
def splits():
    return movie_reviews("train")[0], movie_reviews("test")[0]


@pytest.fixture(scope="module")
def right_vocab(splits):
    return build_vocab(splits[0], 2)


def test_vocabulary_passes_right_answers(capsys, right_vocab):
    checks.check_vocabulary(build_vocab, encode, right_vocab)
    assert "[vocabulary] passed" in capsys.readouterr().out
    # any numbering of the tokens from 2 up is right, e.g. alphabetical; a tensor of ids too
    alphabetical = {"<pad>": 0, "<unk>": 1}
    alphabetical.update(
        {t: i + 2 for i, t in enumerate(sorted(set(right_vocab) - {"<pad>", "<unk>"}))}
    )

    def build_sorted(sentences, min_count=1):
        v = build_vocab(sentences, min_count)
        words = sorted(set(v) - {"<pad>", "<unk>"})
        return {"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(words)}}

    checks.check_vocabulary(
        build_sorted, lambda s, v: torch.tensor(encode(s, v)), alphabetical
    )  # fmt: skip


def _fails(match, *args):
    with pytest.raises(CheckFailed, match=match):
        checks.check_vocabulary(*args)


def test_vocabulary_built_on_the_test_split_or_on_all_fails(splits):
    train, test = splits
    _fails("test sentences.*must not shape", build_vocab, encode, build_vocab(test, 2))
    _fails("found in no training sentence", build_vocab, encode, build_vocab(train + test, 2))


def test_unknown_words_mapped_to_padding_or_dropped_fail(right_vocab):
    _fails(r"'<unk>' \(1\): id 0 is padding", build_vocab,
           lambda s, v: [v.get(t, 0) for t in tokenize(s)], right_vocab)  # fmt: skip
    _fails("not dropped", build_vocab, lambda s, v: [v[t] for t in tokenize(s) if t in v],
           right_vocab)  # fmt: skip
    _fails("tokenize", build_vocab, lambda s, v: [v.get(t, 1) for t in s.split()], right_vocab)


def test_vocabulary_ids_colliding_with_padding_fail(right_vocab):
    def from_zero(sentences, min_count=1):
        words = [t for t in build_vocab(sentences, min_count) if t not in ("<pad>", "<unk>")]
        return {"<pad>": 0, "<unk>": 1, **{w: i for i, w in enumerate(words)}}

    _fails("number the tokens from 2", from_zero, encode, right_vocab)

    def no_specials(sentences, min_count=1):
        words = [t for t in build_vocab(sentences, min_count) if t not in ("<pad>", "<unk>")]
        return {w: i + 2 for i, w in enumerate(words)}

    _fails("reserved for padding", no_specials, encode, right_vocab)


def test_vocabulary_min_count_and_tokenizer_mistakes_fail(splits, right_vocab):
    def strict(sentences, min_count=1):
        counts = Counter(t for s in sentences for t in tokenize(s))
        kept = [t for t, c in counts.items() if c > min_count]
        return {"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(kept)}}

    _fails(r">=", strict, encode, right_vocab)
    _fails(r"min_count=2", build_vocab, encode, build_vocab(splits[0], 3))

    def split_words(sentences, min_count=1):
        counts = Counter(w for s in sentences for w in s.lower().split())
        kept = [t for t, c in counts.items() if c >= min_count]
        return {"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(kept)}}

    _fails("not `str.split`", split_words, encode, right_vocab)
    _fails("has not been run", None, encode, right_vocab)
    _fails("build my_vocab", build_vocab, encode, None)
    _fails("return a dict", build_vocab, encode, list(right_vocab))


def test_vocabulary_unfinished_solution_fails(right_vocab):
    def todo(*args):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="NotImplementedError"):
        checks.check_vocabulary(todo, encode, right_vocab)
    with pytest.raises(CheckFailed, match="NotImplementedError"):
        checks.check_vocabulary(build_vocab, todo, right_vocab)


# -- the output shape of a 1-D convolution over embeddings -------------------------------------


def conv1d_output_shape(x_shape, filters, kernel_size, stride=1, padding=0, dilation=1):
    n, length, _ = x_shape
    return (n, filters, (length + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1)


def test_conv1d_output_shape_passes(capsys):
    checks.check_conv1d_output_shape(conv1d_output_shape)
    checks.check_conv1d_output_shape(lambda *a: torch.Size(conv1d_output_shape(*a)))
    assert "matches nn.Conv1d" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda x, f, k, s=1, p=0, d=1: (x[0], f, (x[1] + 2 * p - (k - 1) - 1) // s + 1), "dilation"),
        (lambda x, f, k, s=1, p=0, d=1: (x[0], f, (x[1] + p - d * (k - 1) - 1) // s + 1), "both ends"),
        (lambda x, f, k, s=1, p=0, d=1: (x[0], f, -(-(x[1] + 2 * p - d * (k - 1) - 1) // s) + 1), "floor"),
        (lambda x, f, k, s=1, p=0, d=1: (x[0], f, (x[1] + 2 * p - d * (k - 1) - 1) // s), r"\+ 1"),
        (lambda x, f, k, s=1, p=0, d=1: (x[0], f, (x[2] + 2 * p - d * (k - 1) - 1) // s + 1), "transpose"),
        (lambda x, f, k, s=1, p=0, d=1: (x[0], (x[1] + 2 * p - d * (k - 1) - 1) // s + 1, f), "channels before"),
        (lambda x, f, k, s=1, p=0, d=1: (x[1] + 2 * p - d * (k - 1) - 1) // s + 1, "tuple of ints"),
        (lambda x, f, k, s=1, p=0, d=1: (x[0], f, x[1] - k + 1), "floor"),
    ],
)  # fmt: skip
def test_conv1d_output_shape_mistakes_fail(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_conv1d_output_shape(wrong)


# -- max over time, padding masked ---------------------------------------------------------------


def max_over_time(features, mask):
    return features.masked_fill(~mask[:, None, :], float("-inf")).amax(dim=2)


def test_max_over_time_passes(capsys):
    checks.check_max_over_time(max_over_time)
    big_negative = lambda f, m: torch.where(m[:, None], f, torch.full_like(f, -1e9)).amax(2)  # noqa: E731
    checks.check_max_over_time(big_negative)
    assert "padding never wins" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, match",
    [
        (lambda f, m: f.amax(dim=2), "padded position wins"),
        (lambda f, m: f.masked_fill(~m[:, None], 0).amax(dim=2), "-inf"),
        (lambda f, m: (f * m[:, None]).amax(dim=2), "-inf"),
        (lambda f, m: torch.relu(f).masked_fill(~m[:, None], 0).amax(dim=2), "ReLU"),
        (lambda f, m: f.masked_fill(~m[:, None], float("-inf")).amax(dim=1), "dim=2"),
        (lambda f, m: f.masked_fill(m[:, None], float("-inf")).amax(dim=2), "inverted"),
        (lambda f, m: f.masked_fill(~m[:, None], float("-inf")).max(dim=2), "indices"),
        (lambda f, m: f.masked_fill_(~m[:, None], float("-inf")).amax(dim=2), "in place"),
        (lambda f, m: (f * m[:, None]).sum(2) / m.sum(1, keepdim=True), "masked_fill"),
        (lambda f, m: f.masked_fill(~m[:, None], float("-inf")).amax(dim=2).numpy(), "tensor"),
    ],
)
def test_max_over_time_mistakes_fail(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        checks.check_max_over_time(wrong)


def test_the_package_model_pools_like_the_check():
    """TextCNN.features masks padding-only windows with -inf, so its max agrees with the check's."""
    from coursecnn.models import text_cnn

    torch.manual_seed(0)
    model = text_cnn(30, embed_dim=4, widths=(3,), filters=5, padding_idx=0).eval()
    ids = torch.tensor([[4, 5, 6, 0, 0, 0], [7, 8, 9, 10, 11, 12]])
    (h,) = model.features(ids)
    mask = torch.isfinite(h[:, 0])
    assert mask.tolist()[0] == [True] * 5 + [False] * 3
    torch.testing.assert_close(max_over_time(h, mask), h.amax(dim=2))
