"""Word vectors trained without labels, for Kim (2014)'s CNN-static and CNN-non-static.

Kim started his TextCNN from the word2vec vectors that Mikolov et al. trained on about 100
billion words of Google News. Nothing that large can be had here, so ``scripts/build_data.py``
trains word2vec (gensim, the ``data`` extra) on the largest unlabelled English text we found in
a package on offer here: GCIDE, the GNU Collaborative International Dictionary of English
(Webster's 1913 dictionary with WordNet's glosses), as Debian's ``dict-gcide`` installs it in
``/usr/share/dictd/gcide.dict.dz``: definitions and quotations, cleaned of the dictionary's markup
by :func:`gcide_paragraphs`, tokenized by the course's ``tokenize``. It keeps the vectors of the
notebook's vocabulary only (the movie sentences' training split, ``min_count=2``), as float16, in
``data/word_vectors.npz`` (checked against its SHA-256 like every shipped file):

    tokens   (V,) str      the vocabulary's tokens, in id order (``<pad>``, ``<unk>``, ...)
    vectors  (V, D) f16    the word2vec vector of each token; zeros where ``found`` is False
    found    (V,) bool     the token occurs in the corpus often enough to have a vector
    counts   (V,) int64    how often it occurs in the corpus
    corpus_tokens, corpus_words  (1,) int64
                           the corpus's size in tokens, and in words (tokens with a letter or
                           a digit, which is how a corpus's words are usually counted)

``word_vectors()`` reads it; ``pretrained_embedding(vocab)`` lays it out as an embedding table for
a ``Vocabulary``: the found rows as trained, the others drawn from U[-a, a] with ``a`` chosen so
that they have the variance of the trained ones (Kim's recipe), row 0 (padding) zero.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from coursecnn.data import samples
from coursecnn.data.text.vocab import PAD_ID, Vocabulary, tokenize

WORD_VECTORS_FILE = "word_vectors.npz"
#: Debian's dict-gcide installs the dictionary here (dictzip: gzip with an index)
GCIDE = Path("/usr/share/dictd/gcide.dict.dz")
#: Kim (2014): the word2vec vectors he used were trained on about 100 billion words
KIM_CORPUS_WORDS = 100_000_000_000

#: word2vec's settings in scripts/build_data.py (gensim's names)
WORD2VEC = dict(
    vector_size=64, window=5, min_count=2, sg=1, negative=5, epochs=5, sample=1e-4, workers=1
)

# a line that is only a source tag: [1913 Webster], [WordNet 1.5], [PJC], ...
_SOURCE_LINE = re.compile(r"^\s*\[[^\]\n]*\]\s*$", re.MULTILINE)
_PRONUNCIATION = re.compile(r"\\[^\\\n]*\\")  # \A*buse"\ after a headword
_BRACKETS = re.compile(r"\[[^\[\]]*\]")  # etymologies and tags: [F. abus, L. abusus ...]
_CITATION = re.compile(r"--\s*[A-Z][^\n]*$", re.MULTILINE)  # --Shak. --Jer. Taylor.


def gcide_paragraphs(raw: bytes | str) -> Iterator[str]:
    """The prose of GCIDE's entries, one paragraph (a definition, a quotation) at a time.

    Drops source tags, pronunciations, bracketed etymologies, citations of authors and the
    braces that mark cross-references; paragraphs are separated by blank lines.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = _CITATION.sub("", _SOURCE_LINE.sub("", text))
    for block in re.split(r"\n\s*\n", text):  # brackets are removed within a paragraph only
        block = _PRONUNCIATION.sub(" ", block)
        while True:  # inner brackets first: [Cf. F. agr['e]gation.]
            block, n = _BRACKETS.subn(" ", block)
            if not n:
                break
        paragraph = " ".join(block.replace("{", "").replace("}", "").split())
        if paragraph:
            yield paragraph


def read_gcide(path: str | Path = GCIDE) -> bytes:
    """The raw bytes of the GCIDE dictionary file (dictzip or plain)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: GCIDE is missing; install Debian's package dict-gcide "
            "(apt-get install dict-gcide)"
        )
    raw = path.read_bytes()
    if path.suffix == ".dz":  # dictzip is gzip: one member with extra fields
        raw = zlib.decompress(raw, wbits=47)
    return raw


def corpus_tokens(paragraphs: Iterable[str]) -> list[list[str]]:
    """Paragraphs -> lists of the course's tokens (one list a paragraph, empty ones dropped)."""
    out = [tokenize(p) for p in paragraphs]
    return [t for t in out if t]


def train_word2vec(token_lists: Sequence[Sequence[str]], seed: int, **settings):
    """A gensim ``KeyedVectors`` trained by word2vec (``WORD2VEC``, updated by ``settings``).

    One worker thread and a seed: the same corpus gives the same vectors, bit for bit.
    """
    from gensim.models import Word2Vec  # the data extra: needed only to rebuild

    model = Word2Vec(
        sentences=[list(t) for t in token_lists], seed=seed, **{**WORD2VEC, **settings}
    )
    return model.wv


def vocabulary_vectors(
    wv, tokens: Sequence[str], corpus: Sequence[Sequence[str]]
) -> dict[str, np.ndarray]:
    """The arrays of ``data/word_vectors.npz`` for ``tokens`` from ``KeyedVectors`` trained on
    ``corpus`` (its token lists)."""
    dim = wv.vector_size
    found = np.array([t in wv.key_to_index for t in tokens])
    vectors = np.zeros((len(tokens), dim), np.float16)
    counts = np.zeros(len(tokens), np.int64)
    for i, t in enumerate(tokens):
        if found[i]:
            vectors[i] = wv[t].astype(np.float16)
            counts[i] = wv.get_vecattr(t, "count")
    return {
        "tokens": np.array(tokens, dtype=str),
        "vectors": vectors,
        "found": found,
        "counts": counts,
        "corpus_tokens": np.array(sum(len(t) for t in corpus), np.int64),
        "corpus_words": np.array(sum(is_word(w) for t in corpus for w in t), np.int64),
    }


def is_word(token: str) -> bool:
    """A token that counts as a word: it holds a letter or a digit (not punctuation alone)."""
    return any(ch.isalnum() for ch in token)


class WordVectors(NamedTuple):
    """The shipped vectors: tokens (V,), vectors float32 (V, D), found (V,), counts (V,)."""

    tokens: tuple[str, ...]
    vectors: np.ndarray
    found: np.ndarray
    counts: np.ndarray
    corpus_tokens: int
    corpus_words: int


@cache
def _read(path: Path, sha: str) -> WordVectors:
    with np.load(path, allow_pickle=False) as npz:
        a = {k: npz[k] for k in npz.files}
    vectors = a["vectors"].astype(np.float32)
    for x in (vectors, a["found"], a["counts"]):
        x.setflags(write=False)
    return WordVectors(
        tuple(a["tokens"].tolist()),
        vectors,
        a["found"],
        a["counts"],
        a["corpus_tokens"].item(),
        a["corpus_words"].item(),
    )


def word_vectors(path: str | Path | None = None) -> WordVectors:
    """``data/word_vectors.npz``, checked against its SHA-256 (see the module's docstring)."""
    path = Path(path) if path is not None else samples.SHIPPED_DIR / WORD_VECTORS_FILE
    samples.verify(path)
    return _read(path, samples.manifest()[path.name]["sha256"])


def pretrained_embedding(
    vocab: Vocabulary, vectors: WordVectors | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(table (len(vocab), D) float32, found (len(vocab),) bool)`` for ``nn.Embedding``.

    A token with a vector gets it; any other (not in the corpus, or ``<unk>``) a draw from
    U[-a, a], ``a`` chosen so that the draws have the trained vectors' variance (Kim 2014);
    the padding row is zero. ``vocab`` must be the vocabulary the vectors were built for.
    """
    wv = word_vectors() if vectors is None else vectors
    if tuple(vocab.itos) != wv.tokens:
        raise ValueError(
            f"vocab: expected the {len(wv.tokens):,} tokens the vectors were built for "
            f"(the movie sentences' training split, min_count=2), got {len(vocab):,} tokens"
        )
    found = np.asarray(wv.found, bool)
    a = np.sqrt(3 * wv.vectors[found].var())  # U[-a, a] has variance a^2 / 3
    rng = np.random.default_rng(seed)
    table = rng.uniform(-a, a, wv.vectors.shape).astype(np.float32)
    table[found] = wv.vectors[found]
    table[PAD_ID] = 0
    return table, found.copy()
