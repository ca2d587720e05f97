"""The IDX file format of MNIST and Fashion-MNIST, read and written with NumPy.

An IDX file is a 4-byte magic number ``00 00 TT D`` (``TT`` the element type, ``D`` the number of
dimensions), then ``D`` big-endian 32-bit sizes, then the elements in C order. MNIST's images are
``(N, 28, 28)`` unsigned bytes (``TT = 0x08``), its labels ``(N,)`` unsigned bytes. Files whose
name ends in ``.gz`` are gzip-compressed.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from coursecnn.data._atomic import atomic_write

# IDX type code -> big-endian NumPy dtype
_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder(">"): code for code, dt in _DTYPES.items()}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (``.gz`` or not) into an array of its shape, in native byte order.

    A truncated, corrupted or malformed file raises ``ValueError`` naming it.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                raw = f.read()
        else:
            raw = path.read_bytes()
    except (EOFError, OSError, zlib.error) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise ValueError(
            f"{path}: not a readable gzip file ({err}); it is truncated or corrupted"
        ) from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
            f"{path}: expected {expected} bytes for an IDX array of shape {shape}, "
            f"got {len(raw)}; the file is truncated or corrupted"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed, reproducibly, when ``path`` ends in .gz).

    The file is written to a temporary file in the same folder and then moved into place.
    """
    path = Path(path)
    array = np.asarray(array)
    big = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big not in _CODES:
        raise ValueError(
            f"array: expected one of the IDX dtypes {sorted(map(str, _CODES))}, got {array.dtype}"
        )
    header = bytes([0, 0, _CODES[big], array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=big).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, compresslevel=9, mtime=0)
    return atomic_write(path, payload)
