"""The classic text baseline: logistic regression on a bag of n-grams.

A text becomes the counts of its n-grams (word n-grams, or character n-grams of the text with
``^`` and ``$`` at its ends); the model is one weight per (n-gram, class) plus a bias per class,
``logits = counts @ W + b``, trained by L-BFGS on the mean cross-entropy plus ``l2 / 2 * |W|^2``
(full batch, float32, to convergence: a convex problem, no epochs or seeds to choose). The sum over a
text's n-grams is ``nn.EmbeddingBag(mode="sum")``, so no dense (texts x n-grams) matrix is made.

    model = NgramLogisticRegression(ngram_range=(1, 2)).fit(train_texts, train_labels)
    model.score(test_texts, test_labels)          # accuracy
    model.top_features(label, 10)                 # the n-grams that push most towards label
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["NgramLogisticRegression", "ngrams"]


def ngrams(tokens: Sequence[str], ngram_range: tuple[int, int] = (1, 1), sep: str = " ") -> list:
    """All n-grams of ``tokens`` for n in ``ngram_range`` (inclusive), joined with ``sep``."""
    lo, hi = ngram_range
    if not 1 <= lo <= hi:
        raise ValueError(f"ngram_range: expected (lo, hi) with 1 <= lo <= hi, got {ngram_range}")
    tokens = list(tokens)
    return [
        sep.join(tokens[i : i + n]) for n in range(lo, hi + 1) for i in range(len(tokens) - n + 1)
    ]


class NgramLogisticRegression:
    """Multinomial logistic regression on n-gram counts (``binary``: presence instead).

    analyzer: ``"word"`` (``tokenizer(text)``, default ``coursecnn.data.text.tokenize``) or
    ``"char"`` (the lower-cased characters of ``"^" + text + "$"``). The n-gram vocabulary is
    the training texts' n-grams seen at least ``min_count`` times; others are ignored.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (1, 1),
        analyzer: str = "word",
        l2: float = 1e-3,
        binary: bool = False,
        min_count: int = 1,
        tokenizer: Callable[[str], list[str]] | None = None,
        max_iter: int = 300,
    ):
        if analyzer not in ("word", "char"):
            raise ValueError(f"analyzer: expected 'word' or 'char', got {analyzer!r}")
        if not l2 >= 0:
            raise ValueError(f"l2: expected a number >= 0, got {l2!r}")
        ngrams((), ngram_range)  # checks the range
        self.ngram_range, self.analyzer, self.l2 = tuple(ngram_range), analyzer, float(l2)
        self.binary, self.min_count, self.max_iter = binary, min_count, max_iter
        if tokenizer is None:
            from coursecnn.data.text import tokenize as tokenizer
        self.tokenizer = tokenizer
        self.vocabulary_: dict[str, int] = {}
        self.weight_: torch.Tensor | None = None
        self.bias_: torch.Tensor | None = None

    def features(self, text: str) -> list[str]:
        """The n-grams of one text (repeats kept unless ``binary``)."""
        if self.analyzer == "char":
            units, sep = list("^" + text.lower() + "$"), ""
        else:
            units, sep = self.tokenizer(text), " "
        grams = ngrams(units, self.ngram_range, sep)
        return sorted(set(grams)) if self.binary else grams

    def _bags(self, texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, offsets = [], []
        for text in texts:
            offsets.append(len(ids))
            ids.extend(self.vocabulary_.get(g, 0) for g in self.features(text))
        return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)

    def _logits(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return F.embedding_bag(ids, self.weight_, offsets, mode="sum") + self.bias_

    def fit(
        self, texts: Sequence[str], labels: Sequence[int] | np.ndarray
    ) -> NgramLogisticRegression:
        """Fit on the training texts; returns ``self``. Labels are 0 .. K-1."""
        labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if labels.shape != (len(texts),):
            raise ValueError(f"labels: expected shape ({len(texts)},), got {tuple(labels.shape)}")
        counts = Counter(g for t in texts for g in set(self.features(t)))
        kept = sorted(g for g, c in counts.items() if c >= self.min_count)
        self.vocabulary_ = {g: i + 1 for i, g in enumerate(kept)}  # row 0: unseen n-grams, kept 0
        self.classes_ = int(labels.max()) + 1
        ids, offsets = self._bags(texts)
        weight = torch.zeros(len(kept) + 1, self.classes_, requires_grad=True)
        bias = torch.zeros(self.classes_, requires_grad=True)
        self.weight_, self.bias_ = weight, bias
        opt = torch.optim.LBFGS(
            [weight, bias], lr=1, max_iter=self.max_iter, history_size=20,
            tolerance_grad=1e-6, tolerance_change=1e-10, line_search_fn="strong_wolfe",
        )  # fmt: skip

        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(self._logits(ids, offsets), labels)
            loss = loss + self.l2 / 2 * weight[1:].pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        with torch.no_grad():
            weight[0] = 0
        self.weight_, self.bias_ = weight.detach(), bias.detach()
        return self

    def _check_fitted(self) -> None:
        if self.weight_ is None:
            raise ValueError("model: expected a fitted model, call fit(texts, labels) first")

    @torch.no_grad()
    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Class probabilities ``(N, K)``, float32."""
        self._check_fitted()
        return torch.softmax(self._logits(*self._bags(texts)), dim=1).numpy()

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """Predicted classes ``(N,)``, int64."""
        return self.predict_proba(texts).argmax(axis=1).astype(np.int64)

    def score(self, texts: Sequence[str], labels: Sequence[int] | np.ndarray) -> float:
        """Accuracy, a fraction in [0, 1]."""
        return float((self.predict(texts) == np.asarray(labels)).mean())

    def top_features(self, label: int, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` n-grams whose weight for ``label`` most exceeds their mean over the classes."""
        self._check_fitted()
        w = self.weight_[1:]
        margin = (w[:, label] - w.mean(dim=1)).numpy()
        names = sorted(self.vocabulary_, key=self.vocabulary_.get)
        order = np.argsort(-margin, kind="stable")[:k]
        return [(names[i], float(margin[i])) for i in order]
