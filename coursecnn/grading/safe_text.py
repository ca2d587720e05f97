"""Text from a submission made safe for a report: no control characters, no spreadsheet formula.

A report cell may hold what a student wrote (a name, an error message). ``strip_control`` keeps
it on one line and keeps terminal escapes and bidirectional overrides out of it;
``spreadsheet_safe`` stops a spreadsheet from running it as a formula (CSV injection).
"""

from __future__ import annotations

import unicodedata

#: Bidirectional controls that reorder how text is shown ("Trojan Source").
BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: First characters that make a spreadsheet read a cell as a formula (full-width forms included).
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def strip_control(text: str) -> str:
    """``text`` with each control character (C0, DEL, C1: newlines, tabs and escapes included)
    replaced by a space, and bidirectional controls removed."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    return "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text if ch not in BIDI)


def spreadsheet_safe(text: str) -> str:
    """``text`` prefixed with ``'`` when, past leading blanks and control characters, it starts
    like a formula (``=``, ``+``, ``-``, ``@``), so that a spreadsheet shows it as text."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected a str, got {type(text).__name__}")
    stripped = text.lstrip("".join(ch for ch in map(chr, range(33))) + "\x7f\u00a0\u3000")
    return "'" + text if stripped.startswith(FORMULA_START) else text
