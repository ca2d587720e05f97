"""Links between the notebooks in the prose: "notebook 03", "notebooks 05 to 08", file names.

:func:`link_notebooks` rewrites a markdown text so that each reference to another notebook of the
course is a relative link to its file (``[notebook 03](03_pooling_and_activations.ipynb)``), which
Jupyter Book turns into a link to that page. Code (fenced or inline), maths, existing links and
HTML tags are left as they are; an inline code span that is exactly a notebook's name
(`` `03_pooling_and_activations` `` or its file name) becomes a link with the code inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

# What the rewriting must not touch, in order of precedence: fenced code, inline code, display
# and inline maths, links (and images), HTML tags and autolinks.
_PROTECTED = re.compile(
    r"(?P<fence>^[ \t]*(?P<mark>`{3,}|~{3,})[^\n]*\n.*?^[ \t]*(?P=mark)[ \t]*$)"
    r"|(?P<code>(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`))"
    r"|(?P<math>\$\$.+?\$\$|\$[^$\n]+\$)"
    r"|(?P<link>!?\[[^\]\n]*\]\([^)\n]*\))"
    r"|(?P<tag><[^>\n]+>)",
    re.DOTALL | re.MULTILINE,
)
_NUMBER = r"\d\d(?!\d)"
# One pass over the prose: "notebooks 05 to 08" (each number linked), "notebook 03", a file name.
_REFERENCE = re.compile(
    rf"\b(?P<many>[Nn]otebooks\s+)(?P<list>{_NUMBER}(?:(?:,\s*|\s+(?:to|and|or)\s+){_NUMBER})*)"
    rf"|\b(?P<one>[Nn]otebook\s+(?P<nn>{_NUMBER}))"
    r"|\b(?P<file>\d\d_[A-Za-z0-9_]+\.ipynb)\b"
)


def notebook_files(names: Iterable[str]) -> dict[str, str]:
    """``{"03": "03_pooling_and_activations.ipynb", ...}`` from notebook file names."""
    files: dict[str, str] = {}
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        if not re.fullmatch(r"\d\d_[A-Za-z0-9_]+", stem):
            raise ValueError(f"names: expected notebook files named NN_topic.ipynb, got {name!r}")
        number = stem[:2]
        if number in files:
            raise ValueError(f"names: two notebooks numbered {number}: {files[number]}, {name}")
        files[number] = f"{stem}.ipynb"
    return files


def _link_text(text: str, files: dict[str, str]) -> str:
    """Link the references in prose that holds no code, maths, link or tag."""

    def number(m: re.Match[str]) -> str:
        return f"[{m[0]}]({files[m[0]]})" if m[0] in files else m[0]

    def reference(m: re.Match[str]) -> str:
        if m["many"]:
            return m["many"] + re.sub(_NUMBER, number, m["list"])
        if m["one"]:
            return f"[{m[0]}]({files[m['nn']]})" if m["nn"] in files else m[0]
        return f"[{m[0]}]({m[0]})" if m[0] in files.values() else m[0]

    return _REFERENCE.sub(reference, text)


def link_notebooks(markdown: str, names: Iterable[str], this: str | None = None) -> str:
    """``markdown`` with every reference to one of the notebooks ``names`` made a relative link.

    names: the course's notebook file names (``NN_topic.ipynb``); a reference to a number or a
    file that is not among them, or to ``this`` (the notebook the text is in), is left as text.
    """
    files = notebook_files(names)
    if this is not None:
        files = {n: f for n, f in files.items() if f != Path(this).name}
    out: list[str] = []
    pos = 0
    for m in _PROTECTED.finditer(markdown):
        out.append(_link_text(markdown[pos : m.start()], files))
        code = m["code"]
        name = code.strip("`").strip() if code else ""
        if code and (f"{name}.ipynb" in files.values() or name in files.values()):
            target = name if name.endswith(".ipynb") else f"{name}.ipynb"
            out.append(f"[{code}]({target})")
        else:
            out.append(m[0])
        pos = m.end()
    out.append(_link_text(markdown[pos:], files))
    return "".join(out)
