"""One SGD step of the NumPy ConvNet of notebook 04 against the same step in PyTorch, as a ratio.

    .venv/bin/python benchmarks/numpy_cnn.py                # float64 and float32, batch 50 and 256
    .venv/bin/python benchmarks/numpy_cnn.py --reps 15 --batches 50

The network is ``coursecnn.numpy_cnn``'s (conv 5x5, 8 filters, padding 2 - ReLU - 2x2 max pool -
linear 1568 -> 100 - ReLU - linear 100 -> 10), on shipped 28x28 digits. A NumPy step is
``loss_and_grads`` plus ``sgd_step``; a PyTorch step is ``zero_grad``, forward, cross-entropy,
``backward`` and ``SGD.step`` on ``numpy_cnn.to_torch`` of the same weights. Both start from the
same weights and take the same batch, in one process; the two alternate within every repetition,
and the figure is the ratio of their median times (NumPy / PyTorch; below 1: NumPy is faster),
with the ratio of their best times beside it (less sensitive to a busy machine). Threads: one
for both (NumPy's BLAS through threadpoolctl, ``torch.set_num_threads(1)``), then all the cores
for both. CPU only. Before timing it checks that the two losses agree (float64: 1e-10).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_info, threadpool_limits

from coursecnn import numpy_cnn
from coursecnn.data import digits, stats

HEADER = (
    "| dtype | batch | threads | NumPy step (ms) | PyTorch step (ms) | NumPy / PyTorch "
    "| best / best | NumPy images/s | PyTorch images/s |"
)


def _batch(n: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    x, y = digits("train")
    mean, std = stats(x)
    return ((x[:n] / 255.0 - mean) / std)[:, None].astype(dtype), y[:n]


def bench(dtype: type, batch: int, threads: int, reps: int) -> dict:
    """Median and best seconds of one NumPy and one PyTorch SGD step, alternating."""
    x, y = _batch(batch, dtype)
    params = numpy_cnn.init_params(rng=np.random.default_rng(0), dtype=dtype)
    net = numpy_cnn.to_torch(params)
    sgd = torch.optim.SGD(net.parameters(), lr=1e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def numpy_step() -> float:
        loss, grads = numpy_cnn.loss_and_grads(params, x, y)
        numpy_cnn.sgd_step(params, grads, 1e-3)
        return loss

    def torch_step() -> float:
        sgd.zero_grad()
        loss = F.cross_entropy(net(xt), yt)
        loss.backward()
        sgd.step()
        return loss.item()

    torch.set_num_threads(threads)
    with threadpool_limits(threads):
        first = numpy_step(), torch_step()
        tol = 1e-10 if dtype == np.float64 else 1e-4
        if abs(first[0] - first[1]) > tol * max(1.0, abs(first[1])):
            raise RuntimeError(f"losses differ: NumPy {first[0]}, PyTorch {first[1]}")
        for _ in range(2):  # warm-up
            numpy_step()
            torch_step()
        times: dict[str, list[float]] = {"numpy": [], "torch": []}
        for _ in range(reps):
            for name, step in (("numpy", numpy_step), ("torch", torch_step)):
                t0 = time.perf_counter()
                step()
                times[name].append(time.perf_counter() - t0)
    med = {k: float(np.median(v)) for k, v in times.items()}
    best = {k: float(np.min(v)) for k, v in times.items()}
    return {
        "dtype": np.dtype(dtype).name,
        "batch": batch,
        "threads": threads,
        "numpy": med["numpy"],
        "torch": med["torch"],
        "ratio": med["numpy"] / med["torch"],
        "best": best["numpy"] / best["torch"],
    }


def describe_machine() -> None:
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPUs ({platform.machine()}), load average {load:.2f}; CPU only")
    for pool in threadpool_info():
        print(
            f"  {pool.get('internal_api')}: {pool.get('version')}, core {pool.get('architecture')}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=31, help="repetitions per step (median)")
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"])
    parser.add_argument("--batches", nargs="+", type=int, default=[50, 256])
    args = parser.parse_args(argv)
    describe_machine()
    print(time.strftime("%Y-%m-%d %H:%M %Z"), f"; median of {args.reps} alternating steps")
    print()
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    cores = os.cpu_count() or 1
    for dtype in args.dtypes:
        for batch in args.batches:
            for threads in sorted({1, cores}):
                r = bench(np.dtype(dtype).type, batch, threads, args.reps)
                print(
                    f"| {r['dtype']} | {batch} | {threads} | {1e3 * r['numpy']:.1f} "
                    f"| {1e3 * r['torch']:.1f} | {r['ratio']:.2f} | {r['best']:.2f} "
                    f"| {batch / r['numpy']:,.0f} | {batch / r['torch']:,.0f} |",
                    flush=True,
                )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nload average at the end {load:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
