"""Activation explorer: sigmoid, tanh, ReLU, Leaky ReLU, ELU, PReLU and Maxout (seeds 000, 001),
their parameter, and their derivative, all computed by ``coursecnn.ops``.

    a = activation_explorer()
    a.function.value = "leaky_relu"; a.param.value = 0.1
    a.x, a.y, a.dy                   # the curves shown
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from coursecnn import ops
from coursecnn.widgets._display import Explorer, new_figure

__all__ = [
    "DERIVATIVES",
    "FUNCTIONS",
    "ActivationExplorer",
    "activation_explorer",
    "compute",
    "describe",
]

#: function name -> (parameter name or None, default parameter value, formula shown)
FUNCTIONS: dict[str, tuple[str | None, float, str]] = {
    "sigmoid": (None, 0.0, "σ(x) = 1 / (1 + e^(−x))"),
    "tanh": (None, 0.0, "tanh(x)"),
    "relu": (None, 0.0, "max(0, x)"),
    "leaky_relu": ("negative_slope", 0.1, "max(a·x, x), a = negative_slope"),
    "elu": ("alpha", 1.0, "x if x > 0 else α·(e^x − 1)"),
    "prelu": ("weight", 0.25, "max(0, x) + a·min(0, x), a learned"),
    "maxout": ("a", 0.5, "max(x, −a·x), 2 linear pieces (a=0: ReLU, a=1: |x|)"),
}


#: function name -> its derivative f'(x), as shown in the readout
DERIVATIVES: dict[str, str] = {
    "sigmoid": "σ(x)·(1 − σ(x))",
    "tanh": "1 − tanh²(x)",
    "relu": "1 if x > 0 else 0",
    "leaky_relu": "1 if x > 0 else a",
    "elu": "1 if x > 0 else α·e^x",
    "prelu": "1 if x > 0 else a",
    "maxout": "1 if x > −a·x else −a",
}


def describe(name: str, param: float | None, derivative: bool) -> str:
    """The readout: the function's formula, its parameter's value, and (``derivative``) f'(x)."""
    if name not in FUNCTIONS:
        raise ValueError(f"name: expected one of {list(FUNCTIONS)}, got {name!r}")
    pname, default, formula = FUNCTIONS[name]
    text = f"{name}: f(x) = {formula}"
    if pname is not None:
        text += f"; {pname} = {default if param is None else param:g}"
    if derivative:
        text += f"; f′(x) = {DERIVATIVES[name]}"
    return text


def compute(name: str, x: np.ndarray, param: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(y, dy)``: the activation ``name`` at ``x`` and its derivative dy/dx.

    x: any shape. param: the negative slope (leaky_relu), alpha (elu) or weight (prelu);
    ignored by the others; None takes the default of ``FUNCTIONS``. The derivative is the
    op's backward with an upstream gradient of ones: ``ops.<name>_backward(ones, x, ...)``.
    maxout: ``ops.maxout`` over the two pieces ``(x, -a·x)`` stacked as channels; dy/dx is the
    chain rule through them: ``g[:, 0] - a·g[:, 1]`` with ``g = ops.maxout_backward(...)``.
    """
    if name not in FUNCTIONS:
        raise ValueError(f"name: expected one of {list(FUNCTIONS)}, got {name!r}")
    x = np.asarray(x, dtype=float)
    pname, default, _ = FUNCTIONS[name]
    a = default if param is None else float(param)
    ones = np.ones_like(x)
    if name == "leaky_relu":
        return ops.leaky_relu(x, a), ops.leaky_relu_backward(ones, x, a)
    if name == "elu":
        return ops.elu(x, a), ops.elu_backward(ones, x, a)
    if name == "prelu":
        weight = np.array([a])  # one slope shared by every position, shape (1,)
        grad_x, _ = ops.prelu_backward(ones, x, weight)
        return ops.prelu(x, weight), grad_x
    if name == "maxout":
        flat = x.reshape(-1)
        pieces = np.stack([flat, -a * flat], axis=1)  # (N, 2): two "channels" per point
        y = ops.maxout(pieces, 2)[:, 0]
        g = ops.maxout_backward(np.ones((flat.size, 1)), pieces, 2)
        return y.reshape(x.shape), (g[:, 0] - a * g[:, 1]).reshape(x.shape)
    forward = getattr(ops, name)
    backward = getattr(ops, f"{name}_backward")
    return forward(x), backward(ones, x)


class ActivationExplorer(Explorer):
    """Controls: ``function`` (Dropdown over ``FUNCTIONS``), ``param`` (FloatSlider: negative
    slope, alpha or weight; disabled for functions without one), ``derivative`` (Checkbox).
    State set by the callback: ``x`` (401 points on [−5, 5]), ``y``, ``dy`` (always computed;
    drawn when ``derivative`` is ticked). The readout ``summary`` (HTML) shows ``describe``.
    ``widget`` is the VBox; ``figure`` the Image widget.
    """

    def __init__(self, function: str = "relu"):
        if function not in FUNCTIONS:
            raise ValueError(f"function: expected one of {list(FUNCTIONS)}, got {function!r}")
        self.x = np.linspace(-5.0, 5.0, 401)
        self.y = self.dy = np.zeros_like(self.x)
        self._busy = False
        style = {"description_width": "100px"}
        self.function = widgets.Dropdown(
            options=list(FUNCTIONS), value=function, description="function", style=style
        )
        self.param = widgets.FloatSlider(
            value=0.1, min=0.0, max=2.0, step=0.05, description="parameter",
            continuous_update=False, style=style,
        )  # fmt: skip
        self.derivative = widgets.Checkbox(value=True, description="show the derivative")
        self.function.observe(self._on_function, names="value")
        self.param.observe(self._on_change, names="value")
        self.derivative.observe(self._on_change, names="value")
        self.summary = widgets.HTML()
        self.figure = widgets.Image(format="png")
        self._widget = widgets.VBox(
            [widgets.HBox([self.function, self.param, self.derivative]), self.summary, self.figure]
        )
        self._on_function({"new": function})

    def _on_function(self, change) -> None:
        pname, default, _ = FUNCTIONS[change["new"]]
        self._busy = True
        try:
            self.param.disabled = pname is None
            self.param.description = pname or "parameter"
            if pname is not None:
                self.param.value = default
        finally:
            self._busy = False
        self.update()

    def update(self) -> None:
        """Recompute ``y`` and ``dy`` from the controls, and redraw."""
        name = self.function.value
        self.y, self.dy = compute(name, self.x, self.param.value)
        text = describe(name, self.param.value, self.derivative.value)
        self.summary.value = f"<code>{html.escape(text)}</code>"
        self.refresh()

    def draw(self):
        """The figure: the function, and its derivative when asked."""
        name = self.function.value
        pname, _, formula = FUNCTIONS[name]
        fig = new_figure(7.0, 3.6)
        ax = fig.subplots()
        label = name if pname is None else f"{name} ({pname} = {self.param.value:g})"
        ax.plot(self.x, self.y, lw=2, label=label)
        if self.derivative.value:
            ax.plot(self.x, self.dy, lw=2, ls="--", label="derivative")
        ax.axhline(0, color="gray", lw=0.5)
        ax.axvline(0, color="gray", lw=0.5)
        ax.grid(alpha=0.3)
        ax.set_title(f"{name}: {formula}")
        ax.set_xlabel("x")
        ax.set_ylabel("f(x)" + (", f'(x)" if self.derivative.value else ""))
        ax.legend(loc="upper left")
        return fig


def activation_explorer() -> ActivationExplorer:
    """An activation explorer. Returns the ``ActivationExplorer``; as a cell's last expression
    it displays its widget."""
    return ActivationExplorer()
