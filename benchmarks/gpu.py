"""The GPU path, measured in one command: notebooks on the full profile, time to accuracy, an
ablation of AMP / channels-last / torch.compile, and CUDA-against-CPU outputs.

    python benchmarks/gpu.py                    # on a CUDA machine: everything, full sizes
    python benchmarks/gpu.py --device cpu       # anywhere: the same code paths, small sizes
    python benchmarks/gpu.py --parts tta,parity --json out.json

Parts (``--parts``, comma-separated, default all):

1. ``notebooks``: every ``notebooks/NN_*.ipynb`` executed with nbclient in a fresh kernel, each
   with ``COURSECNN_PROFILE=full`` on a GPU (``quick`` with ``--device cpu``, where the full
   profile would take hours; ``--profile`` overrides), all cells must pass; the time of each.
2. ``tta``: time to a target test accuracy on the full Fashion-MNIST, wall clock from the data on
   the device to the first epoch whose test accuracy reaches the target (training and the
   evaluation after each epoch counted), median of ``--seeds`` seeds: LeNet-5 to 91 % (target:
   under 10 s), the course ResNet-18 to 94 % (under 60 s), and the ResNet-18 trained for
   ``--resnet-budget`` seconds (120) to see how far past 95 % it goes. ``--device cpu``: LeNet-5
   only, on 6,000 training images, to 80 %, capped at 30 s a seed.
3. ``ablation``: training images/s of LeNet-5 and the ResNet-18 through ``fit`` with each of
   AMP, channels-last and ``torch.compile`` on and off (all 8 combinations on CUDA; on the CPU
   AMP is not used by ``fit``, so 4).
4. ``parity``: every course-size model of ``coursecnn.models`` in eval mode, the same weights
   and inputs on CUDA and on the CPU, float32 with TF32 off: the largest absolute difference of
   the outputs, relative to their largest magnitude, must be under ``--tol`` (1e-4). Without
   CUDA each model only runs on the CPU.

Nothing here is a test: the script prints what it measured and says plainly when no GPU was.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from train import MODELS, Augmented, fashion, throughput  # noqa: E402

from coursecnn.device import describe_device, resolve_device  # noqa: E402
from coursecnn.train import TensorLoader, evaluate, fit, limit_threads, seed_everything  # noqa: E402

PARTS = ("notebooks", "tta", "ablation", "parity")


# ------------------------------------------------------------------------------ 1. notebooks


def run_notebooks(paths: list[Path], profile: str, device: torch.device, timeout: int) -> list:
    """Execute each notebook top to bottom in a fresh kernel; ``[{name, seconds, ok, error}]``."""
    import nbformat
    from nbclient import NotebookClient

    os.environ["COURSECNN_PROFILE"] = profile  # the kernels inherit it
    os.environ["COURSECNN_DEVICE"] = device.type
    os.environ.setdefault("MPLBACKEND", "Agg")
    rows = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )  # fmt: skip
        start = time.monotonic()
        error = ""
        try:
            client.execute()
        except Exception as err:  # a failing cell: record it and go on with the others
            error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}"
        seconds = time.monotonic() - start
        rows.append({"notebook": path.name, "profile": profile, "seconds": seconds,
                     "ok": not error, "error": error})  # fmt: skip
        print(f"  {path.name:32s} {seconds:7.1f} s  {'ok' if not error else 'FAILED ' + error}",
              flush=True)  # fmt: skip
    return rows


# --------------------------------------------------------------------------- 2. time to accuracy


def _schedule(opt, warmup: int, epochs: int):
    """Linear warm-up over ``warmup`` epochs, then a cosine decay to zero at ``epochs``."""

    def factor(e: int) -> float:
        if e < warmup:
            return (e + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (e - warmup) / max(1, epochs - warmup)))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def tta_run(name, data, device, seed, target, epochs, cap_s, until_cap, amp, cl) -> dict:
    """One seed: train until ``target`` is reached, or ``until_cap``: on, until ``cap_s``."""
    xtr, ytr, xte, yte = data
    seed_everything(seed, deterministic=False)
    start = time.perf_counter()  # the data is already on the device
    model = MODELS[name][0]().to(device)
    if name == "lenet5":
        train = TensorLoader(xtr, ytr, 128, shuffle=True, device=device, seed=seed)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        sched = _schedule(opt, 0, epochs)
    else:
        train = Augmented(xtr, ytr, 256, shuffle=True, device=device, seed=seed, drop_last=True)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True,
                              weight_decay=5e-4)  # fmt: skip
        sched = _schedule(opt, 2, epochs)
    test = TensorLoader(xte, yte, 1024, device=device)
    history, reached, curve = None, {}, []
    for _ in range(epochs):
        history = fit(model, train, epochs=1, optimizer=opt, device=device, amp=amp,
                      channels_last=cl, progress=False, history=history, scheduler=sched)  # fmt: skip
        acc = evaluate(model, test, device, amp=amp, channels_last=cl)["accuracy"]
        elapsed = time.perf_counter() - start
        curve.append((round(elapsed, 2), acc))
        for t in sorted({target, 0.95}):
            if acc >= t and t not in reached:
                reached[t] = elapsed
        if (target in reached and not until_cap) or elapsed > cap_s:
            break
    return {"model": name, "seed": seed, "target": target, "reached_s": reached.get(target),
            "reached_95_s": reached.get(0.95), "best_acc": max(a for _, a in curve),
            "epochs": len(curve), "elapsed_s": curve[-1][0], "curve": curve}  # fmt: skip


def time_to_accuracy(device, gpu: bool, seeds: int, resnet_budget: float) -> list:
    data = fashion()
    if not gpu:
        idx = torch.randperm(len(data[0]), generator=torch.Generator().manual_seed(0))[:6000]
        data = (data[0][idx], data[1][idx], data[2][:2000], data[3][:2000])
        plans = [("lenet5", 0.80, 6, 30.0, False)]
        print("  --device cpu: LeNet-5 only, 6,000 training images, target 80 %, 30 s a seed")
    else:  # (model, target, planned epochs of the schedule, cap in s, train on to the cap)
        plans = [("lenet5", 0.91, 15, 60.0, False), ("resnet18", 0.94, 20, 300.0, False),
                 ("resnet18", 0.94, 30, resnet_budget, True)]  # fmt: skip
    data = tuple(t.to(device) for t in data)
    amp, cl = gpu, gpu
    rows = []
    for name, target, epochs, cap, until_cap in plans:
        runs = []
        for seed in range(seeds):
            r = tta_run(name, data, device, seed, target, epochs, cap, until_cap, amp, cl)
            runs.append(r)
            at = "-" if r["reached_s"] is None else f"{r['reached_s']:.1f} s"
            at95 = "-" if r["reached_95_s"] is None else f"{r['reached_95_s']:.1f} s"
            print(f"    {name} seed {seed}: {target:.0%} at {at}, 95 % at {at95}, best "
                  f"{r['best_acc']:.2%} in {r['epochs']} epochs, {r['elapsed_s']:.1f} s",
                  flush=True)  # fmt: skip
        times = [r["reached_s"] for r in runs]
        median = statistics.median(times) if all(t is not None for t in times) else None
        row = {"model": name, "target": target, "cap_s": cap, "until_cap": until_cap, "runs": runs,
               "median_reached_s": median,
               "median_best_acc": statistics.median(r["best_acc"] for r in runs)}  # fmt: skip
        rows.append(row)
        what = f"median {median:.1f} s" if median is not None else "not reached by every seed"
        print(f"  {name} to {target:.0%}: {what}; median best {row['median_best_acc']:.2%}",
              flush=True)  # fmt: skip
    return rows


# ------------------------------------------------------------------------------- 3. ablation


def ablation(device, gpu: bool) -> list:
    steps = {"lenet5": 100, "resnet18": 40} if gpu else {"lenet5": 10, "resnet18": 2}
    amps = (False, True) if gpu else (False,)
    rows = []
    for name in MODELS:
        base = None
        for amp in amps:
            for cl in (False, True):
                for comp in (False, True):
                    try:
                        speed = throughput(name, device, steps[name], amp, cl, comp)
                        error = ""
                    except Exception as err:  # report a failing combination, go on
                        speed, error = float("nan"), f"{type(err).__name__}: {err}"[:200]
                    base = base if base is not None else speed
                    rows.append({"model": name, "amp": amp, "channels_last": cl,
                                 "compile": comp, "images_per_s": speed,
                                 "vs_fp32": speed / base, "error": error})  # fmt: skip
                    flags = "+".join(f for f, on in (("amp", amp), ("cl", cl), ("compile", comp))
                                     if on) or "fp32"  # fmt: skip
                    print(f"  {name:9s} {flags:16s} {speed:12,.0f} images/s {speed / base:6.2f}x"
                          + (f"  FAILED {error}" if error else ""), flush=True)  # fmt: skip
    return rows


# --------------------------------------------------------------------------------- 4. parity


def parity_models() -> dict[str, tuple[nn.Module, tuple[int, ...], torch.dtype]]:
    from coursecnn import models as m

    img = (2, 1, 28, 28)
    return {
        "lenet1": (m.lenet1(), img, torch.float32),
        "lenet5": (m.lenet5(input_size=28), img, torch.float32),
        "alexnet (course)": (m.alexnet(input_size=32, in_channels=1, num_classes=10,
                                       width=0.25), (2, 1, 32, 32), torch.float32),
        "vgg A (course)": (m.vgg("A", input_size=32, in_channels=1, num_classes=10,
                                 width=0.125), (2, 1, 32, 32), torch.float32),
        "nin cifar": (m.nin(10, 1, config="cifar", width=0.25), (2, 1, 32, 32), torch.float32),
        "googlenet (course)": (m.googlenet(num_classes=10, in_channels=1, small_input=True,
                                           width=0.25), img, torch.float32),
        "resnet18 (course)": (m.resnet(18, 10, 1, small_input=True, width=0.25), img,
                              torch.float32),
        "shared resnet": (m.shared_resnet(), img, torch.float32),
        "dogs_vs_cats (course)": (m.dogs_vs_cats(input_size=32, width=0.25), (2, 3, 32, 32),
                                  torch.float32),
        "conv autoencoder": (m.conv_autoencoder(), img, torch.float32),
        "text_cnn": (m.text_cnn(500, embed_dim=16, filters=8), (2, 20), torch.long),
        "char_cnn (course)": (m.char_cnn(length=128, width=0.125), (2, 128), torch.long),
    }  # fmt: skip


def parity(device, gpu: bool, tol: float) -> list:
    if not gpu:
        for name, (model, shape, dtype) in parity_models().items():
            x = torch.randint(0, 50, shape) if dtype == torch.long else torch.randn(shape)
            with torch.no_grad():
                out = model.eval()(x)
            print(f"  {name:22s} runs on the CPU: output {tuple(out.shape)}")
        print("  not compared: no CUDA device here, so there is nothing to compare the CPU with")
        return []
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows = []
    for name, (model, shape, dtype) in parity_models().items():
        torch.manual_seed(0)
        if dtype == torch.long:
            x = torch.randint(0, 50, shape)
        else:
            x = torch.randn(shape)
        model.eval()
        with torch.no_grad():
            cpu = model(x)
            cuda = model.to(device)(x.to(device)).cpu()
        err = float((cuda - cpu).abs().max() / cpu.abs().max().clamp_min(1e-12))
        rows.append({"model": name, "relative_max_abs_diff": err, "ok": err < tol})
        print(f"  {name:22s} max |cuda - cpu| / max |cpu| = {err:.2e}  "
              f"{'ok' if err < tol else 'OVER ' + str(tol)}", flush=True)  # fmt: skip
    return rows


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default=None, help="cuda (default when present) or cpu")
    p.add_argument("--parts", default=",".join(PARTS), help=f"some of {','.join(PARTS)}")
    p.add_argument("--profile", default=None, help="notebook profile (default: full on CUDA)")
    p.add_argument("--notebooks", default="notebooks/[0-9][0-9]_*.ipynb", help="a glob")
    p.add_argument("--cell-timeout", type=int, default=600)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--resnet-budget", type=float, default=120.0)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    parts = [s.strip() for s in args.parts.split(",") if s.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        p.error(f"--parts: expected some of {PARTS}, got {unknown}")

    device = resolve_device(args.device)
    gpu = device.type == "cuda"
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    else:
        limit_threads()
    results: dict = {
        "device": describe_device(device),
        "gpu_measured": gpu,
        "gpu_name": torch.cuda.get_device_name(device) if gpu else None,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    print(f"device: {results['device']}, torch {torch.__version__}, python {results['python']}")
    if not gpu:
        print("NO GPU MEASURED: this run is on the CPU, at small sizes; its figures say nothing "
              "about a GPU")  # fmt: skip

    if "notebooks" in parts:
        profile = args.profile or ("full" if gpu else "quick")
        paths = [Path(q) for q in sorted(glob.glob(str(ROOT / args.notebooks)))]
        print(f"\n1. notebooks, profile {profile!r}, {len(paths)} of them")
        start = time.monotonic()
        results["notebooks"] = run_notebooks(paths, profile, device, args.cell_timeout)
        total = time.monotonic() - start
        results["notebooks_total_s"] = total
        failed = [r["notebook"] for r in results["notebooks"] if not r["ok"]]
        print(f"  total {total:.0f} s; " + (f"FAILED: {failed}" if failed else "all passed"))
    if "tta" in parts:
        print("\n2. time to a target test accuracy (Fashion-MNIST)")
        results["time_to_accuracy"] = time_to_accuracy(device, gpu, args.seeds, args.resnet_budget)
    if "ablation" in parts:
        print("\n3. ablation: training images/s through fit (epoch 2 of 2, synthetic batches)")
        results["ablation"] = ablation(device, gpu)
    if "parity" in parts:
        print(f"\n4. the same outputs on CUDA and on the CPU (tolerance {args.tol:g}, relative)")
        results["parity"] = parity(device, gpu, args.tol)
    if not gpu:
        print("\nNO GPU MEASURED (see above).")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
