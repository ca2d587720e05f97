"""Pang and Lee's sentence polarity data (v1.0, the MR set of Kim 2014), found on disk or downloaded.

``rt-polaritydata.tar.gz`` holds 5,331 positive and 5,331 negative Rotten Tomatoes snippets,
lower-cased and tokenized, labelled by the review they come from ("fresh" or "rotten"). It is
not shipped; ``polarity_sentences`` looks for the archive under ``$COURSECNN_DATA``, then the
repository's ``data/`` (``polarity_dirs()``), and otherwise downloads it into the first of them
(unless ``COURSECNN_OFFLINE=1``) from ``POLARITY_URLS`` in turn, under a timeout. A download is
kept only when its SHA-256 is ``POLARITY_SHA256``, and is written to a temporary file and moved
into place. Offline, ``FileNotFoundError`` says where it looked and how to get the file.

Splits: duplicates (case and spacing ignored) are dropped, keeping the first; a sentence is in
``"test"`` when the first 8 hex digits of the SHA-256 of its text, as a number, are divisible by
10 (about 1 in 10), else in ``"train"``: fixed by the text alone, on every machine.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from coursecnn.data import full, samples
from coursecnn.data._atomic import atomic_write
from coursecnn.data.samples import check_split
from coursecnn.data.text.sentences import dedup_key

POLARITY_FILE = "rt-polaritydata.tar.gz"
#: tried in order; the second is the copy that Hugging Face's ``rotten_tomatoes`` loader reads
POLARITY_URLS = (
    "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz",
    "https://storage.googleapis.com/seldon-datasets/sentence_polarity_v1/rt-polaritydata.tar.gz",
)
#: as recorded for that copy in Hugging Face's ``datasets/rotten_tomatoes/dataset_infos.json``
POLARITY_SHA256 = "a05befe52aafda71d458d188a1c54506a998b1308613ba76bbda2e5029409ce9"
POLARITY_BYTES = 487_770
POLARITY_MEMBERS = {
    1: "rt-polaritydata/rt-polarity.pos",
    0: "rt-polaritydata/rt-polarity.neg",
}
DOWNLOAD_TIMEOUT_S = 20.0  # per connection and read; a whole download gets 3 times as long
_verified: set[tuple[str, int, int, str]] = set()


def polarity_dirs() -> list[Path]:
    """Where ``rt-polaritydata.tar.gz`` is looked for: ``$COURSECNN_DATA`` (if set), ``data/``."""
    return full.data_roots()


def find_polarity() -> Path | None:
    """The first ``rt-polaritydata.tar.gz`` in ``polarity_dirs()``, or ``None``."""
    for folder in polarity_dirs():
        if (folder / POLARITY_FILE).is_file():
            return folder / POLARITY_FILE
    return None


def _how_to_get() -> str:
    looked = "\n".join(f"  {d / POLARITY_FILE}" for d in polarity_dirs())
    return (
        f"The sentence polarity data ({POLARITY_FILE}) was not found. Looked for:\n{looked}\n"
        f"To get it, run once with internet access (it is downloaded into {polarity_dirs()[0]}),\n"
        f"or download {POLARITY_URLS[0]} yourself and put it in $COURSECNN_DATA/ (set "
        "COURSECNN_DATA) or in the repository's data/. The shipped movie_reviews() needs none."
    )


def verify_polarity(path: str | os.PathLike) -> Path:
    """Check the archive's size and SHA-256 (once per process while unchanged); ``ValueError``."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, POLARITY_SHA256)
    if key in _verified:
        return path
    got = samples.sha256(path)
    if st.st_size != POLARITY_BYTES or got != POLARITY_SHA256:
        raise ValueError(
            f"{path}: expected {POLARITY_BYTES} bytes with SHA-256 {POLARITY_SHA256}, found "
            f"{st.st_size} bytes with SHA-256 {got}: the file is truncated or corrupted; delete "
            "it and run again to download it"
        )
    _verified.add(key)
    return path


def _fetch(url: str) -> bytes:
    """The bytes at ``url``, read under ``DOWNLOAD_TIMEOUT_S`` per read and 3 times that overall."""
    deadline = time.monotonic() + 3 * DOWNLOAD_TIMEOUT_S
    chunks, size = [], 0
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
        while block := response.read(1 << 16):
            size += len(block)
            if size > 4 * POLARITY_BYTES:
                raise ValueError(f"more than {4 * POLARITY_BYTES} bytes: not the archive")
            if time.monotonic() > deadline:
                raise TimeoutError(f"not complete after {3 * DOWNLOAD_TIMEOUT_S:g} s")
            chunks.append(block)
    return b"".join(chunks)


def download_polarity(root: str | os.PathLike | None = None) -> Path:
    """Download ``rt-polaritydata.tar.gz`` into ``root`` (default: ``polarity_dirs()[0]``).

    Each URL of ``POLARITY_URLS`` is tried in turn; the first whose bytes have the expected
    SHA-256 is written atomically. Every failure (no network, a timeout, a wrong checksum)
    raises ``FileNotFoundError`` with each URL's reason and how else to get the file.
    """
    if os.environ.get("COURSECNN_OFFLINE", "").strip() not in ("", "0"):
        raise FileNotFoundError(_how_to_get() + "\n(COURSECNN_OFFLINE is set: no download)")
    root = Path(root) if root is not None else polarity_dirs()[0]
    reasons = []
    for url in POLARITY_URLS:
        try:
            payload = _fetch(url)
        except (OSError, ValueError, http.client.HTTPException, urllib.error.URLError) as err:
            reason = getattr(err, "reason", None) or err
            reasons.append(f"{url}: {type(err).__name__}: {reason}")
            continue
        got = hashlib.sha256(payload).hexdigest()
        if got != POLARITY_SHA256:
            reasons.append(f"{url}: SHA-256 {got} is not the expected {POLARITY_SHA256}")
            continue
        try:
            return atomic_write(root / POLARITY_FILE, payload)
        except OSError as err:
            raise FileNotFoundError(f"{_how_to_get()}\n(cannot write to {root}: {err})") from None
    failed = "\n".join(f"  {r}" for r in reasons)
    raise FileNotFoundError(f"{_how_to_get()}\n(download failed:\n{failed})") from None


def read_polarity(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Every sentence of the archive (positive file first) and its label, 1 positive, 0 negative.

    The files are Latin-1 text, one sentence a line.
    """
    texts, labels = [], []
    with tarfile.open(path, "r:gz") as tar:
        for label, member in POLARITY_MEMBERS.items():
            try:
                f = tar.extractfile(member)
            except KeyError:
                f = None
            if f is None:
                raise ValueError(f"{path}: expected a file {member} in the archive")
            for line in f.read().decode("latin-1").splitlines():
                if line.strip():
                    texts.append(line.strip())
                    labels.append(label)
    return texts, np.array(labels, dtype=np.int64)


def is_test_text(text: str) -> bool:
    """The fixed split of the downloaded data: about 1 sentence in 10 is a test sentence."""
    digest = hashlib.sha256(dedup_key(text).encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % 10 == 0


def polarity_sentences(split: str = "train", download: bool = True) -> tuple[list[str], np.ndarray]:
    """``(sentences, labels)`` of Pang and Lee's data: about 9,500 train and 1,060 test."""
    check_split(split)
    path = find_polarity()
    if path is None:
        if not download:
            raise FileNotFoundError(_how_to_get())
        path = download_polarity()
    texts, labels = read_polarity(verify_polarity(path))
    seen: set[str] = set()
    out_texts, out_labels = [], []
    for text, label in zip(texts, labels, strict=True):
        key = dedup_key(text)
        if key in seen:
            continue
        seen.add(key)
        if is_test_text(text) == (split == "test"):
            out_texts.append(text)
            out_labels.append(label)
    return out_texts, np.array(out_labels, dtype=np.int64)
