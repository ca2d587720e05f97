"""A submission copied before anything reads it: regular files only, into a private folder.

The grader never runs or reads a student's folder in place: :func:`copy_submission` copies it
first, opening each file without following links and keeping only regular files. Symlinks, FIFOs,
sockets and devices are refused, each saying so (a refused notebook costs only its own points);
so are files past a size cap. What the kernel may see of the copy (data files, never Python or
configuration files, never other notebooks) is :func:`data_files`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Never handed to a kernel: they would change what Python or pytest loads, or are notebooks.
NOT_DATA_NAMES = {"conftest.py", "pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg",
                  "coursecnn", "sitecustomize.py", "usercustomize.py"}  # fmt: skip
NOT_DATA_SUFFIXES = {".py", ".pyc", ".pyd", ".so", ".pth", ".ipynb"}
#: Reports the grader writes; a stale one in a submission is not the student's data.
REPORTS = {"scores.json", "scores.csv", "scores.xml"}
MAX_FILE = 256 << 20
MAX_TOTAL = 1 << 30


def _kind(mode: int) -> str:
    for test, word in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):  # fmt: skip
        if test(mode):
            return word
    return "not a regular file"


def copy_submission(src: Path, dest: Path, max_depth: int = 4) -> dict[str, str]:
    """Copy the regular files under ``src`` into ``dest`` (made private); return
    ``{relative path: why it was refused}`` for everything left out."""
    refused: dict[str, str] = {}
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    total = 0

    def walk(folder: Path, rel: str, depth: int) -> None:
        nonlocal total
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            refused[rel or "."] = f"cannot be read ({err.strerror})"
            return
        for entry in entries:
            name = f"{rel}{entry.name}"
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                if depth >= max_depth:
                    refused[name] = "a folder nested too deeply"
                    continue
                (dest / name).mkdir(mode=0o700, exist_ok=True)
                walk(Path(entry.path), f"{name}/", depth + 1)
                continue
            if not stat.S_ISREG(st.st_mode):
                refused[name] = f"refused: {_kind(st.st_mode)}, not a regular file"
                continue
            if entry.name in REPORTS and not rel:
                continue
            if st.st_size > MAX_FILE or total + st.st_size > MAX_TOTAL:
                refused[name] = f"refused: {st.st_size} bytes, past the size limit"
                continue
            why = _copy_file(Path(entry.path), dest / name)
            if why:
                refused[name] = why
            else:
                total += st.st_size

    walk(src, "", 0)
    return refused


def _copy_file(src: Path, dst: Path) -> str:
    """Copy one file opened without following links; re-check that it is regular once open."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        return f"refused: cannot be opened without following links ({err.strerror})"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return "refused: not a regular file"
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            copied = 0
            while chunk := os.read(fd, 1 << 20):
                copied += len(chunk)
                if copied > MAX_FILE:
                    return "refused: grew past the size limit while copied"
                os.write(out, chunk)
        finally:
            os.close(out)
    finally:
        os.close(fd)
    return ""


def data_files(folder: Path) -> list[Path]:
    """The top-level files of a copied submission that a kernel may read: data, not code."""
    out = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name in NOT_DATA_NAMES | REPORTS:
            continue
        if entry.suffix in NOT_DATA_SUFFIXES or (entry / "__init__.py").exists():
            continue
        out.append(entry)
    return out
