"""From text to padded id batches: a tokenizer, a ``Vocabulary`` and a ``DataLoader`` for it.

    tokenize("It doesn't work.")       -> ['it', 'does', "n't", 'work', '.']
    characters("Müller")               -> ['m', 'ü', 'l', 'l', 'e', 'r']
    vocab = Vocabulary.build(token_lists_of_the_training_split, min_count=2)
    vocab.encode(tokens) -> [ids]      id 0 is padding, id 1 an unknown token, then the tokens
                                       by decreasing count in the training split
    pad_batch(id_lists) -> (N, L)      LongTensor, right-padded with 0 to the longest
    text_loader(sentences, labels, vocab, batch_size=50, shuffle=True)
                                       a seeded DataLoader of (ids (N, L), labels (N,)) batches

Build the vocabulary on the training split only: a word seen only in test sentences must be
unknown to the model, as it would be for a new sentence.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch.utils.data import DataLoader

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

# A word ([^\W_]+: letters and digits of any script) before "n't" stops before it; "n't" and
# clitics ('s, 're, 'll, ...) are tokens of their own; any other non-space character is one token.
_TOKEN = re.compile(r"[^\W_]+(?=n't\b)|n't\b|'[^\W_]+|[^\W_]+|[^\w\s]|_")


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens, clitics split off as in Kim (2014)'s ``clean_str``.

    ``''`` and ````` (the source's quote marks) become ``"``; ``"isn't"`` gives ``is``, ``n't``.
    """
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text).replace("''", '"').replace("``", '"').lower()
    return _TOKEN.findall(text)


# An emoticon standing alone (between spaces, or before punctuation): :) :-( ;D :P =] :/ <3 ...
_EMOTICON = re.compile(r"(?<!\S)(?:[:;=][-o*']?[()\[\]dDpP/\\|3]|<3)(?=\s|$|[.,!?])")


def tweet_tokenize(text: str) -> list[str]:
    """``tokenize`` for tweets: HTML entities decoded (``&amp;`` is ``&``), emoticons kept whole.

    ``tweet_tokenize("so sad :( &amp; tired")`` -> ``['so', 'sad', ':(', '&', 'tired']``, where
    ``tokenize`` gives ``':', '('`` and ``'&', 'amp', ';'``.
    """
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    text = html.unescape(text)
    tokens: list[str] = []
    start = 0
    for m in _EMOTICON.finditer(text):
        tokens += tokenize(text[start : m.start()])
        tokens.append(m.group())
        start = m.end()
    return tokens + tokenize(text[start:])


def characters(text: str) -> list[str]:
    """The characters of ``text``, lower-cased (NFC): the tokens of a character-level model.

    Turkish dotted capital I lower-cases to ``i`` (Python's ``"İ".lower()`` is ``i`` plus a
    combining dot above, two characters).
    """
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    return list(unicodedata.normalize("NFC", text.replace("\u0130", "i").lower()))


class Vocabulary:
    """Token <-> id. Id 0 is padding (``<pad>``), id 1 any unknown token (``<unk>``).

    Build it with ``Vocabulary.build(token_lists)`` from the training split: tokens seen at least
    ``min_count`` times, most frequent first (ties in alphabetical order), so that ids are the
    same on every machine.
    """

    pad_id = PAD_ID
    unk_id = UNK_ID

    def __init__(self, tokens: Iterable[str]):
        self.itos: tuple[str, ...] = (PAD, UNK, *tokens)
        self.stoi: dict[str, int] = {}
        self.counts: dict[str, int] = {}  # training counts, when built by ``build``
        for i, token in enumerate(self.itos):
            if not isinstance(token, str):
                raise ValueError(f"tokens: expected strings, got {token!r}")
            if token in self.stoi:
                raise ValueError(f"tokens: expected each token once, got {token!r} twice")
            self.stoi[token] = i

    @classmethod
    def build(
        cls, token_lists: Iterable[Sequence[str]], min_count: int = 1, max_size: int | None = None
    ) -> Vocabulary:
        """From tokenized sentences: tokens counted ``min_count`` times or more, most frequent
        first; ``max_size`` caps the number of ids (the two special ones included)."""
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count: expected an integer >= 1, got {min_count!r}")
        if max_size is not None and (not isinstance(max_size, int) or max_size < 2):
            raise ValueError(f"max_size: expected None or an integer >= 2, got {max_size!r}")
        counts: Counter[str] = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise ValueError(
                    "token_lists: expected lists of tokens, got a str (tokenize it first)"
                )
            counts.update(tokens)
        counts.pop(PAD, None)
        counts.pop(UNK, None)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        kept = [t for t, c in ranked if c >= min_count]
        if max_size is not None:
            kept = kept[: max_size - 2]
        vocab = cls(kept)
        vocab.counts = {t: counts[t] for t in kept}
        return vocab

    @classmethod
    def from_sentences(
        cls,
        sentences: Iterable[str],
        min_count: int = 1,
        max_size: int | None = None,
        tokenizer: Callable[[str], list[str]] = tokenize,
    ) -> Vocabulary:
        """``build`` on ``tokenizer(s)`` of each sentence (of the training split)."""
        return cls.build((tokenizer(s) for s in sentences), min_count, max_size)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """The id of ``token``; ``unk_id`` for a token not in the vocabulary."""
        return self.stoi.get(token, UNK_ID)

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids: {PAD!r}=0, {UNK!r}=1, {self.itos[2:5]}...)"

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Ids of ``tokens``, one per token: unknown tokens get ``unk_id`` (1), never padding."""
        if isinstance(tokens, str):
            raise ValueError("tokens: expected a list of tokens, got a str (tokenize it first)")
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ``ids``, padding left out."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"ids: expected ids in [0, {len(self.itos)}), got {i}")
            if i != PAD_ID:
                out.append(self.itos[i])
        return out


def pad_batch(
    sequences: Sequence[Sequence[int]],
    pad_id: int = PAD_ID,
    min_length: int = 1,
    max_length: int | None = None,
) -> torch.Tensor:
    """Id lists -> LongTensor ``(N, L)``, right-padded with ``pad_id``.

    L is the longest sequence, at least ``min_length``; sequences longer than ``max_length``
    are cut to it (Zhang et al. cut their texts to 1,014 characters).
    """
    import torch

    if len(sequences) == 0:
        raise ValueError("sequences: expected at least one sequence, got none")
    if max_length is not None and max_length < min_length:
        raise ValueError(f"max_length: expected at least min_length={min_length}, got {max_length}")
    seqs = [list(s)[:max_length] for s in sequences]
    length = max(min_length, max(len(s) for s in seqs))
    out = torch.full((len(seqs), length), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        if s:
            out[i, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out


class TextDataset:
    """Encoded sentences and their labels; item ``i`` is ``(ids list, label)``.

    A map-style dataset for ``torch.utils.data.DataLoader`` with ``collate_fn=Collate(...)``.
    """

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[int] | np.ndarray,
        vocab: Vocabulary,
        tokenizer: Callable[[str], list[str]] = tokenize,
    ):
        labels = np.asarray(labels)
        if labels.shape != (len(texts),):
            raise ValueError(f"labels: expected shape ({len(texts)},), got {labels.shape}")
        self.ids = [vocab.encode(tokenizer(t)) for t in texts]
        self.labels = labels.astype(np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[list[int], int]:
        return self.ids[i], int(self.labels[i])


class Collate:
    """``DataLoader`` collate function: a list of ``(ids, label)`` -> ``(ids (N, L), labels (N,))``."""

    def __init__(self, min_length: int = 1, max_length: int | None = None):
        self.min_length, self.max_length = min_length, max_length

    def __call__(self, batch: list[tuple[list[int], int]]) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        ids = pad_batch([b[0] for b in batch], PAD_ID, self.min_length, self.max_length)
        return ids, torch.tensor([b[1] for b in batch], dtype=torch.long)


def text_loader(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    vocab: Vocabulary,
    batch_size: int = 50,
    shuffle: bool = False,
    seed: int = 0,
    tokenizer: Callable[[str], list[str]] = tokenize,
    min_length: int = 1,
    max_length: int | None = None,
) -> DataLoader:
    """A seeded ``DataLoader`` of ``(ids (N, L), labels (N,))``, each batch padded to its longest.

    tokenizer: ``tokenize`` for words, ``characters`` for a character-level model.
    min_length, max_length: see ``pad_batch`` (a fixed length when both are equal).
    """
    import torch
    from torch.utils.data import DataLoader

    dataset = TextDataset(texts, labels, vocab, tokenizer)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed),
        collate_fn=Collate(min_length, max_length),
        num_workers=0,
    )
