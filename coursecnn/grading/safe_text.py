"""Text from a submission made safe to show: no control characters, no spreadsheet formulas."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def strip_control(text: str) -> str:
    """``text`` without terminal escapes, control characters or bidirectional overrides; tabs
    and newlines become spaces."""
    text = _ANSI.sub("", str(text))
    return _CONTROL.sub("", text.replace("\t", " ").replace("\n", " "))


def spreadsheet_safe(text: str) -> str:
    """``strip_control(text)``, with a leading ``'`` where a spreadsheet would read a formula."""
    text = strip_control(text)
    return "'" + text if text.startswith(_FORMULA_START) else text
