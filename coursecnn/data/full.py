"""The full MNIST and Fashion-MNIST: found on disk, else downloaded by torchvision.

Where a full copy is looked for, in order (``data_dirs(name)`` lists them):

1. under ``$COURSECNN_DATA`` if set, then under the repository's ``data/`` folder, in
   torchvision's layout ``<root>/FashionMNIST/raw/`` (``<root>/MNIST/raw/``) or flat in
   ``<root>/fashion-mnist/`` (``<root>/mnist/``);
2. for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist``
   (``apt-get install dataset-fashion-mnist``).

A folder counts when it holds the four IDX files (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), each plain
or gzipped. With no copy, ``torchvision.datasets.FashionMNIST`` (``MNIST``) downloads one into
``$COURSECNN_DATA`` (else ``data/``) under a socket timeout; ``COURSECNN_OFFLINE=1`` skips the
attempt. Offline and with no copy, a ``FileNotFoundError`` says where it looked and how to get one.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from coursecnn.data import samples
from coursecnn.data.idx import read_idx
from coursecnn.data.samples import check_split

DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
FULL_SETS = ("fashion_mnist", "mnist")
# name -> (torchvision's class and folder name, flat folder name)
_LAYOUT = {"fashion_mnist": ("FashionMNIST", "fashion-mnist"), "mnist": ("MNIST", "mnist")}
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DOWNLOAD_TIMEOUT_S = 20.0


def _check_name(name: str) -> str:
    if name not in FULL_SETS:
        raise ValueError(f"name: expected one of {FULL_SETS}, got {name!r}")
    return name


def data_roots() -> list[Path]:
    """The roots searched, in order: ``$COURSECNN_DATA`` (if set), then the repository's data/."""
    roots = []
    if os.environ.get("COURSECNN_DATA"):
        roots.append(Path(os.environ["COURSECNN_DATA"]).expanduser())
    roots.append(samples.SHIPPED_DIR)
    return roots


def data_dirs(name: str) -> list[Path]:
    """Every folder where a full copy of ``name`` is looked for, in order."""
    tv, flat = _LAYOUT[_check_name(name)]
    dirs = [d for root in data_roots() for d in (root / tv / "raw", root / flat)]
    if name == "fashion_mnist":
        dirs.append(DEBIAN_FASHION_DIR)
    return dirs


def _idx_file(folder: Path, stem: str) -> Path | None:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_full(name: str) -> Path | None:
    """The first folder holding all four IDX files of ``name``, or ``None``."""
    for folder in data_dirs(name):
        if all(_idx_file(folder, s) for pair in _FILES.values() for s in pair):
            return folder
    return None


def _how_to_get(name: str) -> str:
    looked = "\n".join(f"  {d}" for d in data_dirs(name))
    tv, flat = _LAYOUT[name]
    ways = [
        f"run once with internet access (torchvision downloads it into {download_root()})",
        f"or copy the four IDX files into $COURSECNN_DATA/{flat}/ and set COURSECNN_DATA",
    ]
    if name == "fashion_mnist":
        ways.append("or `sudo apt-get install dataset-fashion-mnist` (Debian, Ubuntu)")
    return f"No full copy of {tv} was found. Looked in:\n{looked}\nTo get one, " + ",\n".join(ways)


def download_root() -> Path:
    """Where a download goes: ``$COURSECNN_DATA`` if set, else the repository's data/."""
    return data_roots()[0]


@cache
def torchvision_class(name: str) -> type:
    """torchvision's dataset class for ``name``, subclassed only to keep its folder name.

    Tests point its ``mirrors`` and ``resources`` (file names and MD5s) at a local server.
    """
    from torchvision import datasets

    base = getattr(datasets, _LAYOUT[_check_name(name)][0])

    class Download(base):
        @property
        def raw_folder(self) -> str:
            return os.path.join(self.root, base.__name__, "raw")

    Download.__name__ = Download.__qualname__ = f"Download{base.__name__}"
    return Download


def download_full(name: str, root: str | os.PathLike | None = None) -> Path:
    """Download ``name`` with torchvision into ``<root>/<FashionMNIST|MNIST>/raw``; its folder.

    The files are fetched into a temporary folder under ``root`` and moved into place one by
    one, so an interrupted download leaves nothing half written. Any failure (no network, a
    timeout, a bad checksum) raises ``FileNotFoundError`` saying how else to get the data.
    """
    _check_name(name)
    if os.environ.get("COURSECNN_OFFLINE", "").strip() not in ("", "0"):
        raise FileNotFoundError(_how_to_get(name) + "\n(COURSECNN_OFFLINE is set: no download)")
    root = Path(root) if root is not None else download_root()
    cls = torchvision_class(name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root, prefix=".download-"))
    except OSError as err:
        raise FileNotFoundError(f"{_how_to_get(name)}\n(cannot write to {root}: {err})") from None
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        try:
            cls(str(tmp), train=True, download=True)
        except Exception as err:  # urllib, http.client, socket, torchvision's RuntimeError
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            last = lines[-1].strip("'") if lines else repr(err)
            reason = f"{type(err).__name__}: {last}"
            raise FileNotFoundError(f"{_how_to_get(name)}\n(download failed: {reason})") from None
        dest = root / _LAYOUT[name][0] / "raw"
        dest.mkdir(parents=True, exist_ok=True)
        for stem in (s for pair in _FILES.values() for s in pair):
            os.replace(tmp / _LAYOUT[name][0] / "raw" / stem, dest / stem)
    finally:
        socket.setdefaulttimeout(previous)
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def load_full(name: str, split: str = "train", download: bool = True):
    """``(images, labels)`` of the full ``name``: uint8 ``(N, 28, 28)``, int64 ``(N,)``.

    N is 60,000 for ``"train"`` and 10,000 for ``"test"``.
    """
    check_split(split)
    folder = find_full(name)
    if folder is None:
        if not download:
            raise FileNotFoundError(_how_to_get(name))
        folder = download_full(name)
    image_file, label_file = (_idx_file(folder, stem) for stem in _FILES[split])
    images, labels = read_idx(image_file), read_idx(label_file)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{image_file}: expected uint8 images (N, 28, 28), got {images.shape}")
    if labels.shape != images.shape[:1] or labels.size and labels.max() > 9:
        raise ValueError(
            f"{label_file}: expected {len(images)} labels in 0..9 to match {image_file.name}, "
            f"got shape {labels.shape}"
        )
    return images, labels.astype(np.int64)
