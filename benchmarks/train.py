"""Training speed of coursecnn.train.fit, and time to a target test accuracy.

    python benchmarks/train.py            # throughput + time-to-accuracy (capped on a CPU)
    python benchmarks/train.py --quick    # shorter: fewer steps, tighter caps (a few minutes)
    python benchmarks/train.py --json out.json

1. Training images per second for LeNet-5 and a course-size ResNet-18 (28x28 greyscale input,
   3x3 stride-1 stem, no stem max-pool), measured through ``fit`` on synthetic batches held on
   the device (epoch 2 of 2, so compilation and warm-up are excluded). On the CPU: float32. On
   a GPU also every combination of mixed precision, channels-last and ``torch.compile``.
2. Time to a target test accuracy on the full Fashion-MNIST (60,000 / 10,000): LeNet-5 (ReLU,
   max pooling) to 91 %, the ResNet-18 to 94 % (random crops and flips). Each epoch is followed
   by a test evaluation; the reported time is training plus evaluation up to the first epoch
   at or above the target. On a CPU a wall-clock cap stops the run, and the best accuracy
   reached within it is reported instead.

Targets on an H100: LeNet-5 at 91 % in under 10 s, ResNet-18 at 94 % in under 60 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coursecnn.device import default_device, describe_device  # noqa: E402
from coursecnn.train import TensorLoader, evaluate, fit, limit_threads, seed_everything  # noqa: E402


def resnet18_course(num_classes: int = 10, in_channels: int = 1) -> nn.Module:
    """The course ResNet-18 for 28x28 images: ``coursecnn.models.resnet(18, small_input=True)``
    (one 3x3 stride-1 stem conv, no stem max-pool; 11.2 M parameters)."""
    from coursecnn.models import resnet

    return resnet(18, num_classes=num_classes, in_channels=in_channels, small_input=True)


def lenet5_modern() -> nn.Module:
    from coursecnn.models import lenet5

    return lenet5(input_size=28, activation="relu", pool="max")


MODELS = {
    "lenet5": (lenet5_modern, 256),
    "resnet18": (resnet18_course, 128),
}


def throughput(name: str, device: torch.device, steps: int, amp: bool, cl: bool, comp: bool):
    """Training images per second in the second of two epochs of ``steps`` batches each."""
    make, batch = MODELS[name]
    seed_everything(0)
    model = make()
    x = torch.randn(steps * batch, 1, 28, 28)
    y = torch.randint(0, 10, (steps * batch,))
    data = TensorLoader(x, y, batch, shuffle=True, device=device, seed=0)
    h = fit(
        model,
        data,
        epochs=2,
        device=device,
        amp=amp,
        channels_last=cl,
        compile=comp,
        progress=False,
    )
    return h.images_per_sec[-1]


def fashion() -> tuple[torch.Tensor, ...]:
    from coursecnn.data import fashion_mnist, stats

    (xtr, ytr), (xte, yte) = fashion_mnist("train", full=True), fashion_mnist("test", full=True)
    mean, std = stats(xtr)

    def prep(x):
        return ((torch.from_numpy(x).float() / 255 - mean) / std).unsqueeze(1)

    return prep(xtr), torch.from_numpy(ytr), prep(xte), torch.from_numpy(yte)


class Augmented(TensorLoader):
    """Random 28x28 crops of the 2-pixel zero-padded images, and horizontal flips, on device."""

    def __iter__(self):
        for x, y in super().__iter__():
            n = len(x)
            padded = nn.functional.pad(x, (2, 2, 2, 2))
            dx, dy = torch.randint(0, 5, (2,), generator=self._gen).tolist()
            x = padded[:, :, dy : dy + 28, dx : dx + 28]
            flip = torch.rand(n, generator=self._gen).to(x.device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
            yield x, y


def time_to_accuracy(name, device, target, cap_s, max_epochs, amp, cl, comp, data):
    """Train epoch by epoch until the test accuracy reaches ``target`` or ``cap_s`` runs out."""
    xtr, ytr, xte, yte = data
    make, _ = MODELS[name]
    seed_everything(0)
    model = make().to(device)
    if name == "lenet5":
        train = TensorLoader(xtr, ytr, 128, shuffle=True, device=device, seed=0)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        warmup = 0
    else:
        train = Augmented(xtr, ytr, 256, shuffle=True, device=device, seed=0, drop_last=True)
        opt = torch.optim.SGD(
            model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4
        )
        warmup = 2
    # per epoch: linear warm-up, then a cosine decay to zero at max_epochs
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda e: (
            (e + 1) / warmup
            if e < warmup
            else 0.5 * (1 + math.cos(math.pi * (e - warmup) / max(1, max_epochs - warmup)))
        ),
    )
    test = TensorLoader(xte, yte, 1024, device=device)
    runner = torch.compile(model) if comp else model
    history, elapsed, reached = None, 0.0, None
    best = 0.0
    for epoch in range(1, max_epochs + 1):
        t0 = time.perf_counter()
        history = fit(
            runner,
            train,
            epochs=1,
            optimizer=opt,
            device=device,
            amp=amp,
            channels_last=cl,
            progress=False,
            history=history,
            scheduler=sched,
        )
        acc = evaluate(runner, test, device, amp=amp, channels_last=cl)["accuracy"]
        elapsed += time.perf_counter() - t0
        best = max(best, acc)
        print(f"    {name} epoch {epoch}: test acc {acc:.2%}, {elapsed:.1f} s", flush=True)
        if acc >= target:
            reached = elapsed
            break
        if elapsed > cap_s:
            break
    return {
        "model": name,
        "target": target,
        "reached_s": reached,
        "best_acc": best,
        "epochs": epoch,
        "elapsed_s": elapsed,
        "cap_s": cap_s,
    }


def _throughput(results: dict, device: torch.device, gpu: bool, quick: bool) -> None:
    cpu_steps = {"lenet5": 20 if quick else 60, "resnet18": 3 if quick else 6}
    if gpu:
        combos = list(itertools.product((False, True), repeat=3))
        steps = {"lenet5": 100, "resnet18": 40}
    else:
        combos = [(False, False, False)]
        steps = cpu_steps
    runs = [(torch.device("cpu"), cpu_steps, (False, False, False))] if gpu else []
    runs += [(device, steps, combo) for combo in combos]
    for name in MODELS:
        reference = None  # the first run, CPU float32: speeds are also given as ratios to it
        for dev, n_steps, (amp, cl, comp) in runs:
            try:
                speed = throughput(name, dev, n_steps[name], amp, cl, comp)
            except Exception as err:  # compile can fail on an odd setup: report, go on
                print(f"  {name:9s} {dev.type} amp={amp} cl={cl} compile={comp}: failed ({err})")
                continue
            row = {
                "model": name,
                "device": dev.type,
                "amp": amp,
                "channels_last": cl,
                "compile": comp,
                "images_per_s": speed,
            }
            reference = reference or speed
            row["ratio_to_cpu_fp32"] = speed / reference
            results["throughput"].append(row)
            flags = ",".join(f for f, on in (("amp", amp), ("cl", cl), ("compile", comp)) if on)
            print(
                f"  {name:9s} {dev.type:5s} {flags or 'fp32':20s} {speed:12,.0f} images/s "
                f"{speed / reference:8.1f}x",
                flush=True,
            )


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer steps and tighter time caps")
    p.add_argument("--cap", type=float, default=None, help="seconds per time-to-accuracy run")
    p.add_argument("--skip-tta", action="store_true", help="skip the time-to-accuracy part")
    p.add_argument("--skip-throughput", action="store_true", help="skip the images/s part")
    p.add_argument("--epochs", type=int, default=15, help="epochs planned for LeNet-5 (cosine)")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = p.parse_args(argv)

    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    device = default_device()
    gpu = device.type == "cuda"
    threads = limit_threads() if not gpu else torch.get_num_threads()
    results: dict = {
        "device": describe_device(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu_threads": threads,
        "gpu_measured": gpu,
        "throughput": [],
        "time_to_accuracy": [],
    }
    print(f"device: {results['device']}, torch {torch.__version__}")
    if not gpu:
        print("no GPU measured: CUDA is not available here; CPU figures only")

    # 1. throughput
    if not args.skip_throughput:
        print("\n1. training images/s (epoch 2 of 2 through fit, synthetic 28x28 batches)")
        _throughput(results, device, gpu, args.quick)

    # 2. time to accuracy
    if not args.skip_tta:
        print("\n2. time to a target test accuracy on the full Fashion-MNIST")
        data = fashion()
        if gpu:
            plans = [
                ("lenet5", 0.91, args.cap or 60, args.epochs),
                ("resnet18", 0.94, args.cap or 300, 20),
            ]
            amp, cl, comp = True, True, False
        else:
            cap = args.cap or (150 if args.quick else 400)
            plans = [("lenet5", 0.91, cap, args.epochs)]
            amp, cl, comp = False, False, False
            print(
                f"  on the CPU: LeNet-5 only, capped at {cap:.0f} s; ResNet-18 is not run "
                "(hours on 2 cores)"
            )
        for name, target, cap, max_epochs in plans:
            r = time_to_accuracy(name, device, target, cap, max_epochs, amp, cl, comp, data)
            r["device"] = device.type
            results["time_to_accuracy"].append(r)
            if r["reached_s"] is not None:
                print(
                    f"  {name}: {target:.0%} reached in {r['reached_s']:.1f} s "
                    f"({r['epochs']} epochs)"
                )
            else:
                print(
                    f"  {name}: {target:.0%} NOT reached; best {r['best_acc']:.2%} after "
                    f"{r['epochs']} epochs, {r['elapsed_s']:.1f} s (cap {cap:.0f} s)"
                )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
