"""The shipped sentences: movie-review snippets and tweets rated by people, from VADER's data.

Both come from ``hutto_ICWSM_2014.tar.gz`` in the source distribution of ``vaderSentiment``
3.3.2 (Hutto and Gilbert, ICWSM 2014; MIT): each sentence has the mean of 20 or more people's
ratings in [-4, 4]. The label is its sign (1 positive, 0 negative). ``data/README.md`` gives
the provenance; ``scripts/build_data.py`` rebuilds the files.

Each file, ``data/movie_reviews.tsv.bz2`` and ``data/tweets.tsv.bz2``, is every row of its
source in source order, as UTF-8 tab-separated text with a header ``id rating split text``:
``id`` and ``rating`` as the source writes them, ``split`` one of ``train``, ``test``, ``zero``
(mean rating exactly 0: no polarity, left out) or ``duplicate`` (the same text, ignoring case
and spacing, as an earlier row: left out, so that no sentence is in both splits). Checked against
its SHA-256 in ``coursecnn/data/manifest.json`` on first load.
"""

from __future__ import annotations

import bz2
import os
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from coursecnn.data import samples
from coursecnn.data.samples import check_split

#: name -> file in the repository's data/ folder
SENTENCE_FILES = {"movie_reviews": "movie_reviews.tsv.bz2", "tweets": "tweets.tsv.bz2"}
SENTIMENT_CLASSES = ("negative", "positive")
HEADER = ("id", "rating", "split", "text")
ROW_SPLITS = ("train", "test", "zero", "duplicate")


class SentenceTable(NamedTuple):
    """The rows of a sentence file: ids (N,) int64, ratings (N,) float64, splits and texts."""

    ids: np.ndarray
    ratings: np.ndarray
    splits: tuple[str, ...]
    texts: tuple[str, ...]


def dedup_key(text: str) -> str:
    """What two texts share when they count as the same sentence: case and spacing ignored."""
    return " ".join(text.casefold().split())


def format_table(rows: list[tuple[str, str, str, str]]) -> bytes:
    """``(id, rating, split, text)`` rows -> the UTF-8 TSV bytes of a sentence file."""
    lines = ["\t".join(HEADER)]
    for row in rows:
        if len(row) != 4 or any("\t" in f or "\n" in f or "\r" in f for f in row):
            raise ValueError(f"rows: expected 4 fields without tabs or newlines, got {row!r}")
        if row[2] not in ROW_SPLITS:
            raise ValueError(f"rows: expected a split in {ROW_SPLITS}, got {row[2]!r}")
        lines.append("\t".join(row))
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_table(payload: bytes, where: str = "payload") -> SentenceTable:
    """The bytes of a sentence file (decompressed) -> its :class:`SentenceTable`."""
    lines = payload.decode("utf-8").split("\n")
    if not lines or tuple(lines[0].split("\t")) != HEADER or lines[-1] != "":
        raise ValueError(f"{where}: expected a header {HEADER} and newline-ended rows")
    ids, ratings, splits, texts = [], [], [], []
    for n, line in enumerate(lines[1:-1], start=2):
        fields = line.split("\t")
        if len(fields) != 4 or fields[2] not in ROW_SPLITS:
            raise ValueError(f"{where}, line {n}: expected id, rating, split, text; got {line!r}")
        ids.append(int(fields[0]))
        ratings.append(float(fields[1]))
        splits.append(fields[2])
        texts.append(fields[3])
    return SentenceTable(np.array(ids, np.int64), np.array(ratings), tuple(splits), tuple(texts))


def write_table(path: str | os.PathLike, rows: list[tuple[str, str, str, str]]) -> Path:
    """Write a sentence file: bzip2 (level 9, which has no timestamp: same rows, same bytes)."""
    from coursecnn.data._atomic import atomic_write

    return atomic_write(path, bz2.compress(format_table(rows), 9))


@cache
def _table(path: Path, sha: str) -> SentenceTable:
    with bz2.open(path, "rb") as f:
        return parse_table(f.read(), str(path))


def sentence_table(name: str) -> SentenceTable:
    """Every row of the shipped file ``name`` (``"movie_reviews"`` or ``"tweets"``), verified."""
    if name not in SENTENCE_FILES:
        raise ValueError(f"name: expected one of {sorted(SENTENCE_FILES)}, got {name!r}")
    path = samples.verify(samples.SHIPPED_DIR / SENTENCE_FILES[name])
    return _table(path, samples.manifest()[path.name]["sha256"])


def load_sentences(
    name: str, split: str = "train", ratings: bool = False
) -> tuple[list[str], np.ndarray] | tuple[list[str], np.ndarray, np.ndarray]:
    """``(sentences, labels)`` of one split; ``ratings=True`` adds the mean ratings (float64)."""
    check_split(split)
    table = sentence_table(name)
    rows = [i for i, s in enumerate(table.splits) if s == split]
    texts = [table.texts[i] for i in rows]
    mean = table.ratings[rows]
    labels = (mean > 0).astype(np.int64)
    return (texts, labels, mean.copy()) if ratings else (texts, labels)


def read_source(payload: bytes, where: str = "source") -> list[tuple[str, str, str]]:
    """VADER's ``*_GroundTruth.txt`` (CRLF lines ``id<TAB>rating<TAB>text``) -> (id, rating, text).

    The ids must run 1, 2, ... in order and every rating parse as a number in [-4, 4].
    """
    text = payload.decode("utf-8")
    rows = []
    for n, line in enumerate(text.split("\r\n"), start=1):
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] != str(len(rows) + 1):
            raise ValueError(f"{where}, line {n}: expected '{len(rows) + 1}<TAB>rating<TAB>text'")
        if not -4.0 <= float(fields[1]) <= 4.0:
            raise ValueError(f"{where}, line {n}: expected a rating in [-4, 4], got {fields[1]}")
        rows.append((fields[0], fields[1], fields[2].strip()))
    return rows
