"""Speed of coursecnn.ops against torch on the CPU, as ratios measured in one process.

    .venv/bin/python benchmarks/ops.py            # float32 and float64, 7 repetitions (21 if fast)
    .venv/bin/python benchmarks/ops.py --reps 3 --dtypes float32

For LeNet's second conv, a ResNet 3x3 layer, AlexNet's first conv and a 2x2 max pool it prints
the median time of the naive loops (on a small slice, and that time scaled to the whole layer),
of the fast version and of torch, the ratio fast/torch for the forward and the backward pass
(all three gradients; torch's time is autograd's backward alone, the forward run untimed before
it), the ratio of the two fastest runs (best/best, less sensitive to a busy machine) and the
GFLOP/s reached. The max pool runs on a ResNet-sized activation (32, 64, 32, 32), stride 2.
CPU only; no GPU is measured. Variants alternate within every
repetition and each is preceded by a pause, because OpenBLAS threads keep spinning for about
0.1-0.2 s after a call and would slow whatever starts in that window.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from coursecnn.ops import conv2d, conv2d_backward, max_pool2d, max_pool2d_backward

PAUSE_S = 0.2


@dataclass
class Layer:
    name: str
    x: tuple[int, int, int, int]
    kind: str  # "conv" or "pool"
    w: tuple[int, int, int, int] | None = None
    kwargs: dict = field(default_factory=dict)
    targets: tuple[float, float] = (1.0, 1.0)  # fast/torch at most this (forward, backward)
    slice_nf: tuple[int, int] = (1, 4)  # the naive slice: images, filters (or channels)


LAYERS = [
    Layer("LeNet conv2", (64, 6, 14, 14), "conv", (16, 6, 5, 5), {}, (4.0, 3.0)),
    Layer("ResNet 3x3", (32, 64, 32, 32), "conv", (64, 64, 3, 3), {"padding": 1}, (2.0, 3.0)),
    Layer("AlexNet conv1", (8, 3, 224, 224), "conv", (96, 3, 11, 11), {"stride": 4}, (3.0, 3.0)),
    Layer("max pool 2x2", (32, 64, 32, 32), "pool", None, {"kernel_size": 2}, (1.0, None)),
]
FLOAT64_TARGET = 1.0  # in float64 torch takes a slow path: no slower than torch


def flops(layer: Layer) -> float:
    """Forward floating-point operations (a multiply-add counts 2; a comparison counts 1)."""
    n, c, h, w = layer.x
    if layer.kind == "conv":
        f, cg, kh, kw = layer.w
        s = layer.kwargs.get("stride", 1)
        p = layer.kwargs.get("padding", 0)
        oh, ow = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
        return 2.0 * n * f * oh * ow * cg * kh * kw
    k = layer.kwargs["kernel_size"]
    return float(n * c * (h // k) * (w // k) * (k * k - 1))


def timed(fn, setup=None) -> float:
    """Seconds for one call of fn(*setup()), after a pause that lets BLAS threads go idle."""
    args = setup() if setup else ()
    time.sleep(PAUSE_S)
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure(variants: dict, reps: int) -> dict:
    """Seconds of each variant, all repetitions; variants alternate (and reverse order) every
    repetition so that a slow spell of the machine hits them alike. Variants that take under
    50 ms get three times as many repetitions (they are cheap, and the noisiest)."""
    warm = [timed(*variant) for variant in variants.values()]  # warm-up, timed once
    if max(warm) < 0.05:
        reps *= 3
    times = {name: [] for name in variants}
    names = list(variants)
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            times[name].append(timed(*variants[name]))
    return times


def bench(layer: Layer, dtype, reps: int) -> list[dict]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(layer.x).astype(dtype)
    rows = []
    if layer.kind == "conv":
        w = (rng.standard_normal(layer.w) / np.sqrt(np.prod(layer.w[1:]))).astype(dtype)
        b = rng.standard_normal(layer.w[0]).astype(dtype)
        kw = layer.kwargs
        out = conv2d(x, w, b, **kw)
        g = rng.standard_normal(out.shape).astype(dtype)
        xt, wt, bt, gt = (torch.from_numpy(a) for a in (x, w, b, g))

        def torch_graph():
            xr, wr, br = (t.clone().requires_grad_() for t in (xt, wt, bt))
            return (F.conv2d(xr, wr, br, **kw),)

        fwd = {
            "fast": (lambda: conv2d(x, w, b, **kw), None),
            "torch": (lambda: F.conv2d(xt, wt, bt, **kw), None),
        }
        bwd = {
            "fast": (lambda: conv2d_backward(g, x, w, **kw), None),
            "torch": (lambda o: o.backward(gt), torch_graph),
        }
        n1, f1 = layer.slice_nf
        xs, ws, bs = x[:n1], w[:f1], b[:f1]
        gs = g[:n1, :f1]
        naive_f = measure({"n": (lambda: conv2d(xs, ws, bs, **kw, method="naive"), None)}, 1)
        naive_b = measure(
            {"n": (lambda: conv2d_backward(gs, xs, ws, **kw, method="naive"), None)}, 1
        )
        scale = (layer.x[0] * layer.w[0]) / (n1 * f1)
    else:
        kw = layer.kwargs
        out = max_pool2d(x, **kw)
        g = rng.standard_normal(out.shape).astype(dtype)
        xt, gt = torch.from_numpy(x), torch.from_numpy(g)

        def torch_graph():
            xr = xt.clone().requires_grad_()
            return (F.max_pool2d(xr, **kw),)

        fwd = {
            "fast": (lambda: max_pool2d(x, **kw), None),
            "torch": (lambda: F.max_pool2d(xt, **kw), None),
        }
        bwd = {
            "fast": (lambda: max_pool2d_backward(g, x, **kw), None),
            "torch": (lambda o: o.backward(gt), torch_graph),
        }
        n1, c1 = layer.slice_nf
        xs, gs = x[:n1, :c1], g[:n1, :c1]
        naive_f = measure({"n": (lambda: max_pool2d(xs, **kw, method="naive"), None)}, 1)
        naive_b = measure(
            {"n": (lambda: max_pool2d_backward(gs, xs, **kw, method="naive"), None)}, 1
        )
        scale = (layer.x[0] * layer.x[1]) / (n1 * c1)
    work = flops(layer)
    for pass_, variants, naive, mult, target in (
        ("forward", fwd, naive_f, 1.0, layer.targets[0]),
        ("backward", bwd, naive_b, 2.0, layer.targets[1]),
    ):
        times = measure(variants, reps)
        t = {name: float(np.median(v)) for name, v in times.items()}
        best = min(times["fast"]) / min(times["torch"])
        if dtype == np.float64 and target is not None:
            target = FLOAT64_TARGET
        ratio = t["fast"] / t["torch"]
        rows.append(
            dict(
                layer=layer.name,
                dtype=np.dtype(dtype).name,
                pass_=pass_,
                naive_slice=float(np.median(naive["n"])),
                naive_full=float(np.median(naive["n"])) * scale,
                fast=t["fast"],
                torch=t["torch"],
                ratio=ratio,
                best=best,
                target=target,
                met=None if target is None else ratio <= target,
                gflops_fast=mult * work / t["fast"] / 1e9,
                gflops_torch=mult * work / t["torch"] / 1e9,
            )
        )
        print_row(rows[-1])
    return rows


HEADER = (
    "| layer | dtype | pass | naive, slice (ms) | naive, scaled (s) | fast (ms) | torch (ms) "
    "| fast/torch | target | met | best/best | fast GFLOP/s | torch GFLOP/s |"
)


def print_row(r: dict) -> None:
    target = "-" if r["target"] is None else f"<= {r['target']:g}"
    met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
    print(
        f"| {r['layer']} | {r['dtype']} | {r['pass_']} | {r['naive_slice'] * 1e3:.1f} "
        f"| {r['naive_full']:.1f} | {r['fast'] * 1e3:.1f} | {r['torch'] * 1e3:.1f} "
        f"| {r['ratio']:.2f} | {target} | {met} | {r['best']:.2f} | {r['gflops_fast']:.1f} "
        f"| {r['gflops_torch']:.1f} |",
        flush=True,
    )


def describe_machine() -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}")
    print(
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"torch threads {torch.get_num_threads()}; CPU only; no GPU measured"
    )
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        print("threadpoolctl not installed: BLAS configuration not shown")
    else:
        for pool in threadpool_info():
            print(
                f"  {pool.get('internal_api')}: {pool.get('version')}, "
                f"{pool.get('num_threads')} threads, core {pool.get('architecture')}"
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="repetitions per variant (median)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--layers", nargs="+", default=None, help="names' first words, e.g. ResNet")
    args = parser.parse_args(argv)
    describe_machine()
    print(
        time.strftime("%Y-%m-%d %H:%M %Z"),
        f"; median of {args.reps} (x3 under 50 ms); naive slice: "
        "1 image x 4 filters (pool: 4 channels), scaled = slice time x (N*F)/(1*4)",
    )
    print()
    print(HEADER)
    print(
        "|" + "---|" * HEADER.count("|")[:-1] if False else "|" + "---|" * (HEADER.count("|") - 1)
    )
    rows = []
    for dtype in args.dtypes:
        for layer in LAYERS:
            if args.layers and layer.name.split()[0] not in args.layers:
                continue
            rows += bench(layer, np.dtype(dtype).type, args.reps)
    missed = [r for r in rows if r["met"] is False]
    print()
    print(
        "all targets met"
        if not missed
        else f"{len(missed)} target(s) missed: "
        + ", ".join(
            f"{r['layer']} {r['dtype']} {r['pass_']} ({r['ratio']:.2f} > {r['target']:g})"
            for r in missed
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
