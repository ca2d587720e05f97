"""Output sizes of convolutions and pooling."""

from __future__ import annotations

import numbers

from ._validate import _nonnegative_pair, _positive_pair


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1) -> int | tuple[int, int]:
    """Output size of a convolution or pooling along each spatial axis.

    ``out = floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``

    Every argument is an int or a pair ``(h, w)``. Returns an int when all are ints, else a pair.
    Raises ``ValueError`` when the (dilated) kernel is larger than the padded input.
    """
    scalar = all(
        isinstance(v, numbers.Integral) for v in (size, kernel_size, stride, padding, dilation)
    )
    sizes = _positive_pair(size, "size")
    ks = _positive_pair(kernel_size, "kernel_size")
    st = _positive_pair(stride, "stride")
    pd = _nonnegative_pair(padding, "padding")
    dl = _positive_pair(dilation, "dilation")
    out = _out_sizes(sizes, ks, st, pd, dl)
    return out[0] if scalar else out


def _out_sizes(sizes, ks, st, pd, dl) -> tuple[int, int]:
    """Checked output sizes; all arguments are already pairs."""
    out = []
    for axis, s, k, t, p, d in zip("HW", sizes, ks, st, pd, dl, strict=True):
        span = d * (k - 1) + 1
        if span > s + 2 * p:
            raise ValueError(
                f"kernel_size: expected a kernel (dilated size {span}) no larger than the padded "
                f"input ({s} + 2*{p} = {s + 2 * p}) along {axis}, got kernel {k}, dilation {d}"
            )
        out.append((s + 2 * p - span) // t + 1)
    return out[0], out[1]


__all__ = ["conv_output_size"]
