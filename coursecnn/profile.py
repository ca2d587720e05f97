"""The run profile the notebooks read: ``quick`` (default, a 2-core CPU) or ``full`` (a GPU).

Set it with the environment variable ``COURSECNN_PROFILE=full`` before starting JupyterLab, or
call ``set_profile("full")`` at the top of a notebook.
"""

from __future__ import annotations

import os

PROFILES = ("quick", "full")
_override: str | None = None


def profile() -> str:
    """The active profile name: ``"quick"`` or ``"full"``."""
    name = _override or os.environ.get("COURSECNN_PROFILE", "quick").strip().lower() or "quick"
    if name not in PROFILES:
        raise ValueError(f"COURSECNN_PROFILE: expected one of {PROFILES}, got {name!r}")
    return name


def set_profile(name: str | None) -> None:
    """Choose the profile for this process (``None`` goes back to the environment variable)."""
    global _override
    if name is not None and name not in PROFILES:
        raise ValueError(f"name: expected one of {PROFILES} or None, got {name!r}")
    _override = name


def is_full() -> bool:
    """True when the ``full`` profile (all the data, more epochs) is active."""
    return profile() == "full"
