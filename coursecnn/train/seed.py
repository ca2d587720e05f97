"""Seeding for reproducible runs, and a CPU thread limit that suits a small shared machine."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def seed_everything(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every GPU).

    With ``deterministic`` (the default) cuDNN picks deterministic algorithms and stops
    auto-tuning, so two runs on the same machine give the same numbers.
    """
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise ValueError(f"seed: expected an integer, got {seed!r}")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def available_cpus() -> int:
    """How many CPU cores this process may use (its affinity mask, not the whole machine)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def limit_threads(max_threads: int | None = None, *, busy_aware: bool = True) -> int:
    """Let torch use at most ``max_threads`` CPU threads (default: the cores available).

    With ``busy_aware`` (the default), when the 1-minute load average says the cores are
    already taken by other processes, one thread is used: torch's worker threads spin while
    they wait for each other, and on a shared 2-core machine two of them competing with other
    work train LeNet-5 tens of times slower than one thread does (measured in this course).
    ``COURSECNN_THREADS=N`` in the environment fixes the count (for a reproducible run, or to
    check a notebook under the thread count another machine would pick).
    Returns the number of threads set.
    """
    forced = os.environ.get("COURSECNN_THREADS", "").strip()
    if forced:
        if not forced.isdigit() or int(forced) < 1:
            raise ValueError(f"COURSECNN_THREADS: expected a positive integer, got {forced!r}")
        torch.set_num_threads(int(forced))
        return int(forced)
    cpus = available_cpus()
    if max_threads is not None and max_threads < 1:
        raise ValueError(f"max_threads: expected at least 1, got {max_threads!r}")
    n = cpus if max_threads is None else min(int(max_threads), cpus)
    if busy_aware and n > 1:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows
            load = 0.0
        if load > cpus - 0.5:
            n = 1
    torch.set_num_threads(n)
    return n
