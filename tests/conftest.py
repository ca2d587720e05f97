"""Shared pytest set-up: figures are drawn off screen and closed after each test."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One CPU thread for a module: tiny models gain nothing from more, a shared machine loses a lot."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def shipped_copy(tmp_path, monkeypatch):
    """A copy of the shipped data files in a temporary folder that the loaders read instead."""
    import shutil
    from pathlib import Path

    from coursecnn.data import samples

    root = Path(__file__).resolve().parents[1]
    for name in samples.manifest():
        shutil.copy(root / "data" / name, tmp_path / name)
    monkeypatch.setattr(samples, "SHIPPED_DIR", tmp_path)
    return tmp_path
