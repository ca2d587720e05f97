"""A picture of each widget, kept in its notebook output for readers without a kernel.

A widget output holds ``application/vnd.jupyter.widget-view+json`` (a model id) and
``text/plain``; the widget itself lives in the kernel. When a notebook runs (``./course regen``),
nbclient records the widget state; :func:`store_pictures` then adds to each widget output the
``image/png`` its widget showed at the end of the run (an explorer's ``Image``, or what an
``Output`` widget drew, as ``interact`` does), beside the view. JupyterLab still shows the live
widget; GitHub and the course website show the picture. :func:`preview` is the website's
rendering of one: the picture with a line saying that the widget is live in JupyterLab.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterator
from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PNG = "image/png"
REF = "IPY_MODEL_"  # how a widget's state refers to another widget
LIVE_LINE = (
    "A picture of the widget at its default settings. The widget is live in JupyterLab: "
    "open the notebook there (<code>./course lab</code>) and run the cell to use it."
)


def widget_outputs(nb: Any) -> Iterator[tuple[int, Any, Any]]:
    """``(cell index, cell, output)`` for every widget output of ``nb``, in notebook order."""
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                yield index, cell, output


def _refs(value: Any) -> Iterator[str]:
    """The model ids a state value refers to, in order (``children`` lists included)."""
    if isinstance(value, str) and value.startswith(REF):
        yield value[len(REF) :]
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _refs(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)


def _own_picture(model: dict[str, Any]) -> str | None:
    """The base64 PNG one widget model shows itself, or None."""
    state = model.get("state", {})
    if model.get("model_name") == "ImageModel" and state.get("format", "png") == "png":
        for buffer in model.get("buffers", []):
            if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
                return buffer["data"] or None
    if model.get("model_name") == "OutputModel":
        for output in state.get("outputs", []):
            data = output.get("data", {}).get(PNG)
            if data:
                return "".join(data) if isinstance(data, list) else data
    return None


def picture_in_state(states: dict[str, Any], model_id: str) -> str | None:
    """The first picture (base64 PNG) in the widget tree under ``model_id``, children in order.

    ``states`` is the ``state`` mapping of a notebook's widget-state metadata. The course's
    explorers each hold one ``Image``; ``interact`` one ``Output``.
    """
    seen: set[str] = set()
    todo = [model_id]
    while todo:
        mid = todo.pop(0)
        if mid in seen or mid not in states:
            continue
        seen.add(mid)
        found = _own_picture(states[mid])
        if found:
            return found
        todo[:0] = list(_refs(states[mid].get("state", {})))  # depth first, in order
    return None


def store_pictures(nb: Any) -> int:
    """Add to each widget output of ``nb`` the picture its widget shows in the notebook's widget
    state (``nb.metadata.widgets``, as nbclient records it); return how many were stored.

    A widget that shows no picture is left as it was.
    """
    states = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    stored = 0
    for _, _, output in widget_outputs(nb):
        found = picture_in_state(states, output.data[WIDGET_VIEW].get("model_id", ""))
        if found:
            output.data[PNG] = found
            stored += 1
    return stored


def preview(png_base64: str, alt: str) -> str:
    """The website's static preview of a widget: its picture, then the line saying it is live in
    JupyterLab, as one HTML ``figure`` (the picture inline, so the page needs nothing else)."""
    png_base64 = "".join(png_base64.split())
    base64.b64decode(png_base64, validate=True)  # refuse a damaged picture here, not in a browser
    return (
        '<figure class="coursecnn-widget-preview">'
        f'<img src="data:image/png;base64,{png_base64}" alt="{html.escape(alt)}"/>'
        f'<figcaption class="coursecnn-widget-live">{LIVE_LINE}</figcaption></figure>'
    )
