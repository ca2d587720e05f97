"""Automatic differentiation in two small pieces: forward mode and reverse mode.

Forward mode carries a **dual number** ``Dual(primal, tangent)`` through the computation: every
intermediate ``s_i`` holds its value and ``s_i' = ds_i/dx`` for ONE chosen input ``x``. One pass
gives the derivative with respect to one input; n inputs need n passes.

Reverse mode records the computation on a graph of ``Value`` nodes (micrograd style), then one
backward sweep from the output ``s_n`` fills ``s_i.grad = ds_n/ds_i`` (the adjoint, written
s-bar) for EVERY node, inputs included: one forward and one backward pass, however many inputs.

Elementary functions ``sin, cos, exp, log, tanh, sigmoid`` accept floats, ``Dual`` and ``Value``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

__all__ = [
    "Dual",
    "Value",
    "sin",
    "cos",
    "exp",
    "log",
    "tanh",
    "sigmoid",
    "forward_mode_gradient",
    "reverse_mode_gradient",
]

Number = int | float


# ---------------------------------------------------------------------------------- forward mode
class Dual:
    """A dual number ``primal + tangent * eps`` with ``eps**2 = 0``; ``tangent`` is d(value)/dx."""

    __slots__ = ("primal", "tangent")

    def __init__(self, primal: Number, tangent: Number = 0.0) -> None:
        self.primal = float(primal)
        self.tangent = float(tangent)

    @staticmethod
    def _lift(other: Dual | Number) -> Dual:
        return other if isinstance(other, Dual) else Dual(other, 0.0)

    def __add__(self, other: Dual | Number) -> Dual:
        o = Dual._lift(other)
        return Dual(self.primal + o.primal, self.tangent + o.tangent)

    __radd__ = __add__

    def __neg__(self) -> Dual:
        return Dual(-self.primal, -self.tangent)

    def __sub__(self, other: Dual | Number) -> Dual:
        return self + (-Dual._lift(other))

    def __rsub__(self, other: Dual | Number) -> Dual:
        return Dual._lift(other) - self

    def __mul__(self, other: Dual | Number) -> Dual:
        o = Dual._lift(other)  # product rule: (uv)' = u'v + uv'
        return Dual(self.primal * o.primal, self.tangent * o.primal + self.primal * o.tangent)

    __rmul__ = __mul__

    def __truediv__(self, other: Dual | Number) -> Dual:
        o = Dual._lift(other)  # quotient rule: (u/v)' = (u'v - uv') / v^2
        return Dual(
            self.primal / o.primal,
            (self.tangent * o.primal - self.primal * o.tangent) / o.primal**2,
        )

    def __rtruediv__(self, other: Dual | Number) -> Dual:
        return Dual._lift(other) / self

    def __pow__(self, k: Number) -> Dual:
        return Dual(self.primal**k, k * self.primal ** (k - 1) * self.tangent)

    def __repr__(self) -> str:
        return f"Dual(primal={self.primal:.6g}, tangent={self.tangent:.6g})"


# ---------------------------------------------------------------------------------- reverse mode
class Value:
    """A node of the computation graph: ``data`` and, after ``backward()``, ``grad = d out/d self``."""

    def __init__(self, data: Number, _parents: tuple[Value, ...] = (), _op: str = "") -> None:
        self.data = float(data)
        self.grad = 0.0
        self._parents = _parents
        self._op = _op
        self._backward: Callable[[], None] = lambda: None

    @staticmethod
    def _lift(other: Value | Number) -> Value:
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other: Value | Number) -> Value:
        o = Value._lift(other)
        out = Value(self.data + o.data, (self, o), "+")

        def _backward() -> None:
            self.grad += out.grad
            o.grad += out.grad

        out._backward = _backward
        return out

    __radd__ = __add__

    def __mul__(self, other: Value | Number) -> Value:
        o = Value._lift(other)
        out = Value(self.data * o.data, (self, o), "*")

        def _backward() -> None:
            self.grad += o.data * out.grad
            o.grad += self.data * out.grad

        out._backward = _backward
        return out

    __rmul__ = __mul__

    def __pow__(self, k: Number) -> Value:
        out = Value(self.data**k, (self,), f"**{k}")

        def _backward() -> None:
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self * -1.0

    def __sub__(self, other: Value | Number) -> Value:
        return self + (-Value._lift(other))

    def __rsub__(self, other: Value | Number) -> Value:
        return Value._lift(other) - self

    def __truediv__(self, other: Value | Number) -> Value:
        return self * Value._lift(other) ** -1

    def __rtruediv__(self, other: Value | Number) -> Value:
        return Value._lift(other) * self**-1

    def _unary(self, value: float, local_grad: float, op: str) -> Value:
        out = Value(value, (self,), op)

        def _backward() -> None:
            self.grad += local_grad * out.grad

        out._backward = _backward
        return out

    def topological_order(self) -> list[Value]:
        """Every node this one depends on, each after its parents (inputs first, ``self`` last)."""
        order: list[Value] = []
        seen: set[int] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._parents if id(p) not in seen)
        return order

    def backward(self) -> None:
        """Reverse sweep: ``node.grad = d self / d node`` for every node of the graph."""
        order = self.topological_order()
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


# ------------------------------------------------------------------------- elementary functions
def _elementary(name: str, f: Callable[[float], float], df: Callable[[float], float]):
    def fn(x):
        if isinstance(x, Dual):  # chain rule forward: (f(u))' = f'(u) u'
            return Dual(f(x.primal), df(x.primal) * x.tangent)
        if isinstance(x, Value):  # chain rule backward: u.grad += f'(u) * out.grad
            return x._unary(f(x.data), df(x.data), name)
        return f(x)

    fn.__name__ = name
    fn.__doc__ = f"``{name}`` of a float, a ``Dual`` or a ``Value``."
    return fn


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v))


sin = _elementary("sin", math.sin, math.cos)
cos = _elementary("cos", math.cos, lambda v: -math.sin(v))
exp = _elementary("exp", math.exp, math.exp)
log = _elementary("log", math.log, lambda v: 1.0 / v)
tanh = _elementary("tanh", math.tanh, lambda v: 1.0 - math.tanh(v) ** 2)
sigmoid = _elementary("sigmoid", _sigmoid, lambda v: _sigmoid(v) * (1.0 - _sigmoid(v)))


# ------------------------------------------------------------------------------ whole gradients
def forward_mode_gradient(f: Callable[..., Dual], xs: Sequence[Number]) -> tuple[list[float], int]:
    """Gradient of scalar ``f(*xs)`` by forward mode: one pass per input. Returns (grad, passes)."""
    grad = []
    for i in range(len(xs)):  # seed tangent 1 on input i, 0 elsewhere
        out = f(*[Dual(x, 1.0 if j == i else 0.0) for j, x in enumerate(xs)])
        grad.append(out.tangent)
    return grad, len(xs)


def reverse_mode_gradient(f: Callable[..., Value], xs: Sequence[Number]) -> tuple[list[float], int]:
    """Gradient of scalar ``f(*xs)`` by reverse mode: one forward and one backward pass, any number
    of inputs. Returns (grad, passes) with passes = 2."""
    inputs = [Value(x) for x in xs]
    f(*inputs).backward()
    return [v.grad for v in inputs], 2
