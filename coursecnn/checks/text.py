"""Graded checks of notebook 10, CNNs for text.

References nobody here wrote where there is one: output shapes come from a real
``torch.nn.Conv1d``, the max from ``torch.amax``; the vocabulary is compared with
``coursecnn.data.text.Vocabulary`` built on the shipped training split. Each check also computes
what the classic mistakes give (unknown words sent to padding, a vocabulary built on the test
split, padding that wins the max, the embedding axes left untransposed, ...) so that a failure
names the mistake it recognises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from coursecnn.checks._guard import (
    ANY_TORCH,
    declare,
)
from coursecnn.checks._report import as_ints, call_student, fail, passed
from coursecnn.data.text import PAD, UNK, Vocabulary, movie_reviews, tokenize

__all__ = ["check_vocabulary", "check_conv1d_output_shape", "check_max_over_time"]

VOCAB_MIN_COUNT = 2
_TOY = ["The cat sat.", "the dog sat!", "A cat ran, the end", "The cat's toy"]


def _as_dict(check: str, got: Any, case: str) -> dict:
    if not isinstance(got, dict):
        fail(check, f"{case}: a dict token -> id", type(got).__name__, "return a dict")
    return got


def _vocab_problem(
    check: str, vocab: dict, expected: set[str], case: str, sentences, min_count: int
) -> None:
    """Fail with the recognised mistake unless ``vocab`` maps exactly ``expected`` to 0..n-1."""
    if vocab.get(PAD) != 0 or vocab.get(UNK) != 1:
        fail(
            check,
            f"{case}: {PAD!r} -> 0 and {UNK!r} -> 1",
            {PAD: vocab.get(PAD), UNK: vocab.get(UNK)},
            "id 0 is reserved for padding and id 1 for unknown tokens: put both in first",
        )
    if sorted(vocab.values()) != list(range(len(vocab))):
        ids = sorted(vocab.values())
        fail(
            check,
            f"{case}: ids 0, 1, ..., {len(vocab) - 1}, each once",
            f"ids {ids[:6]}{'...' if len(ids) > 6 else ''}",
            "number the tokens from 2 up (0 and 1 are taken): a token with id 0 would be "
            "read as padding",
        )
    keys = set(vocab) - {PAD, UNK}
    if keys == expected:
        return
    split = {w for s in sentences for w in s.split()}
    lower = {w for s in sentences for w in s.lower().split()}
    counts: dict[str, int] = {}
    for s in sentences:
        for t in tokenize(s):
            counts[t] = counts.get(t, 0) + 1
    glued = any(len(w) > 1 and w[-1] in ".,!?" and w[0].isalnum() for w in keys)
    if keys in (split, lower) or glued:
        mistake = "split the sentences with `tokenize(sentence)`, not `str.split`"
    elif keys < expected and all(counts.get(t, 0) > min_count for t in keys):
        mistake = (
            f"keep tokens seen min_count times or more (>=; my_vocab uses min_count="
            f"{VOCAB_MIN_COUNT})"
        )
    elif keys == set(counts):
        mistake = "keep only the tokens seen at least min_count times"
    else:
        mistake = "every token of tokenize(sentence) seen at least min_count times, no others"
    missing, extra = sorted(expected - keys)[:5], sorted(keys - expected)[:5]
    fail(
        check, f"{case}: {len(expected)} tokens", f"missing {missing}, unexpected {extra}", mistake
    )


def check_vocabulary(
    build_vocab: Callable[..., Any], encode: Callable[..., Any], my_vocab: Any
) -> None:
    """``build_vocab(sentences, min_count) -> {token: id}``, ``encode(sentence, vocab) -> ids``,
    and ``my_vocab = build_vocab(train_sentences, min_count=2)`` on the movie reviews."""
    check = "vocabulary"
    for min_count in (1, 2):
        case = f"build_vocab({_TOY}, min_count={min_count})"
        got = _as_dict(check, call_student(check, build_vocab, list(_TOY), min_count), case)
        expected = set(Vocabulary.from_sentences(_TOY, min_count=min_count).itos[2:])
        _vocab_problem(check, got, expected, case, _TOY, min_count)

    ref = Vocabulary.from_sentences(_TOY)
    vocab = dict(ref.stoi)
    for sentence in ("The cat flew away.", "A DOG'S dinner!", "the cat sat ."):
        case = f"encode({sentence!r}, vocab)"
        expected = ref.encode(tokenize(sentence))
        got = call_student(check, encode, sentence, dict(vocab))
        try:
            got_ids = [int(i) for i in (got.tolist() if hasattr(got, "tolist") else got)]
        except (TypeError, ValueError):
            fail(check, f"{case}: a list of ints {expected}", got, "return a list of ids")
        if got_ids == expected:
            continue
        tokens = tokenize(sentence)
        if got_ids == [vocab.get(t, 0) for t in tokens]:
            mistake = (
                "an unknown token must get the id of '<unk>' (1): id 0 is padding, which the "
                "model ignores, so the word would vanish"
            )
        elif got_ids == [vocab[t] for t in tokens if t in vocab]:
            mistake = "keep one id per token: unknown tokens become 1, they are not dropped"
        elif len(got_ids) != len(tokens):
            mistake = "encode the tokens of tokenize(sentence), one id each"
        else:
            mistake = "look each token up in vocab, 1 when it is not there"
        fail(check, f"{case} = {expected}", got_ids, mistake)

    train, _ = movie_reviews("train")
    test, _ = movie_reviews("test")
    case = "my_vocab (the movie reviews' training split, min_count=2)"
    if my_vocab is None:
        fail(check, "a dict", None, "build my_vocab with your build_vocab and run that cell")
    got = _as_dict(check, my_vocab, case)
    expected = set(Vocabulary.from_sentences(train, min_count=VOCAB_MIN_COUNT).itos[2:])
    train_tokens = {t for s in train for t in tokenize(s)}
    leaked = sorted(set(got) - {PAD, UNK} - train_tokens)
    if leaked:
        fail(
            check,
            f"{case}: tokens of the training sentences only",
            f"{len(leaked)} tokens found in no training sentence, e.g. {leaked[:5]}",
            "build the vocabulary from train_sentences alone: the test sentences stand for new "
            "text and must not shape the model (here they would decide which words are known)",
        )
    _vocab_problem(check, got, expected, case, train, VOCAB_MIN_COUNT)
    passed(check, f"{len(got):,} ids, unknown words -> 1, built on the training split")


def _shape_of(got: Any) -> tuple[int, ...] | None:
    try:
        return tuple(int(v) for v in got)
    except (TypeError, ValueError):
        return None


def check_conv1d_output_shape(func: Callable[..., Any]) -> None:
    """``func(x_shape, filters, kernel_size, stride=1, padding=0, dilation=1)`` -> the shape of
    ``nn.Conv1d`` applied to embeddings of shape ``x_shape = (N, L, E)``, moved to (N, E, L)."""
    check = "conv1d_output_shape"
    cases = [
        ((2, 20, 8), 4, 3, 1, 0, 1),
        ((1, 7, 5), 6, 2, 2, 0, 1),  # stride with a remainder
        ((3, 13, 6), 2, 5, 3, 2, 2),
        ((4, 5, 300), 100, 5, 1, 4, 1),  # Kim's "wide" padding: L + k - 1
        ((1, 1, 3), 1, 1, 1, 0, 1),
        ((2, 30, 16), 8, 3, 1, 0, 4),  # dilation alone
        ((5, 11, 4), 3, 4, 2, 1, 3),
        ((1, 9, 2), 5, 3, 4, 3, 1),
    ]
    for (n, length, embed), filters, k, s, p, d in cases:
        case = (
            f"x_shape=({n}, {length}, {embed}), filters={filters}, kernel_size={k}, "
            f"stride={s}, padding={p}, dilation={d}"
        )
        conv = torch.nn.Conv1d(embed, filters, k, stride=s, padding=p, dilation=d)
        with torch.no_grad():
            expected = tuple(conv(torch.zeros(n, embed, length)).shape)
        got_raw = call_student(check, func, (n, length, embed), filters, k, s, p, d)
        got = _shape_of(got_raw)
        if got is not None and len(got) == 3:
            as_ints(check, tuple(got_raw), "(N, filters, L_out)", case, count=3)
        if got == expected:
            continue
        if got is None:
            fail(check, f"{case}: a tuple {expected}", got_raw, "return a tuple of ints")
        out = expected[2]

        def formula(size, pad=p, dil=d, rounding=np.floor, k=k, s=s):
            return int(rounding((size + 2 * pad - dil * (k - 1) - 1) / s)) + 1

        if got == (n, out, filters):
            mistake = "Conv1d returns (N, filters, L_out): channels before positions"
        elif got == (n, filters, formula(embed)):
            mistake = (
                "nn.Embedding gives (N, L, E): transpose to (N, E, L) first; the sentence length "
                "is L, the embedding size E is Conv1d's in_channels"
            )
        elif got == (n, filters, formula(length, dil=1)):
            mistake = "dilation spreads the kernel over dilation * (kernel_size - 1) + 1 positions"
        elif got == (n, filters, formula(length, pad=p / 2)):
            mistake = "padding is added at both ends: 2 * padding"
        elif got == (n, filters, formula(length, rounding=np.ceil)):
            mistake = "round down (floor): a last window that does not fit is not computed"
        elif got == (n, filters, formula(length) - 1):
            mistake = "the formula ends in + 1: the first window's position counts too"
        else:
            mistake = (
                "L_out = floor((L + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1"
            )
        fail(check, f"{case}: {expected}", got, mistake)
    passed(check, "every case matches nn.Conv1d")


def check_max_over_time(func: Callable[..., Any]) -> None:
    """``func(features (N, F, T), mask (N, T) bool) -> (N, F)``: the max over the positions t
    where ``mask`` is True, whatever the values (negative ones too) elsewhere."""
    check = "max_over_time"
    g = torch.Generator().manual_seed(10)
    cases = []
    x = torch.randn(3, 4, 6, generator=g) - 2.0  # mostly negative, as before a ReLU
    lengths = torch.tensor([6, 2, 1])
    cases.append(("prefix masks, negative values", x, torch.arange(6)[None] < lengths[:, None]))
    x = torch.randn(2, 5, 7, generator=g)
    x[0, :, 5:] = 9.0  # large values in the padding
    mask = torch.arange(7)[None] < torch.tensor([[5], [7]])
    cases.append(("large values at padded positions", x, mask))
    mask = torch.tensor([[False, True, True, False, False]])
    cases.append(("a mask that is not a prefix", -torch.rand(1, 3, 5, generator=g), mask))
    cases.append(("N = 1, F = 1, T = 1", torch.tensor([[[-0.5]]]), torch.tensor([[True]])))
    for name, features, mask in cases:
        n, f, _ = features.shape
        case = f"{name}: features {tuple(features.shape)}, mask {tuple(mask.shape)}"
        expected = features.masked_fill(~mask[:, None, :], float("-inf")).amax(dim=2)
        before = features.clone()
        got = call_student(check, func, features, mask.clone())
        if not torch.equal(features, before):
            fail(
                check,
                f"{case}: features left as they were",
                "features changed in place",
                "use masked_fill (a copy), not masked_fill_: the layer below needs its output",
            )
        if isinstance(got, tuple):
            fail(
                check,
                f"{case}: a tensor of shape ({n}, {f})",
                f"a tuple of {len(got)}",
                "features.max(dim=...) returns (values, indices): use .amax(dim=...) or .values",
            )
        if not isinstance(got, torch.Tensor):
            fail(check, f"{case}: a tensor ({n}, {f})", type(got).__name__, "return a tensor")
        if tuple(got.shape) != (n, f):
            same = tuple(got.shape) == (n, features.shape[2])
            fail(
                check,
                f"{case}: shape ({n}, {f}), one number per filter",
                f"shape {tuple(got.shape)}",
                "pool over time, dim=2 (positions), not over the filters (dim=1)"
                if same
                else "take the max over dim=2 of (N, F, T)",
            )
        if torch.allclose(got.float(), expected):
            continue
        if torch.allclose(got.float(), features.amax(dim=2)):
            mistake = "the mask is ignored: a padded position wins the max"
        elif torch.allclose(got.float(), features.masked_fill(~mask[:, None], 0).amax(dim=2)):
            mistake = (
                "padded positions set to 0 still win when every real value is negative: set "
                "them to -inf (float('-inf')) before the max"
            )
        elif torch.allclose(
            got.float(), features.masked_fill(mask[:, None], float("-inf")).amax(2)
        ):
            mistake = "the mask is inverted: True marks the positions to keep"
        elif torch.allclose(got.float(), expected.clamp_min(0)):
            mistake = (
                "negative maxima came back as 0: a ReLU (or 0 at the padding) changed them; "
                "return the max of the responses as given, padding at -inf"
            )
        else:
            mistake = "features.masked_fill(~mask[:, None, :], float('-inf')).amax(dim=2)"
        fail(check, expected.numpy(), got.detach().float().numpy(), mistake)
    passed(check, "padding never wins, negative values included")


# ------------------------------------------------------------- what each exercise rules out
declare("vocabulary", "the vocabulary", forbid=["coursecnn.data.text.vocab:Vocabulary"])
declare("conv1d_output_shape", "the output-shape formula", forbid=[ANY_TORCH])
declare("max_over_time", "the masked max over time")
