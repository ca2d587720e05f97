"""``fit``: the training loop every notebook uses, on CPU, CUDA or MPS.

One epoch: for each batch, forward, loss, backward, optimizer step (design recipe: minimise the
loss by backprop). On CUDA it adds mixed precision (bf16, or fp16 with a gradient scaler),
channels-last memory and, if asked, ``torch.compile``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from coursecnn.train._batches import (
    amp_dtype,
    autocast,
    count_correct,
    pick_device,
    sync,
    to_device,
    unpack,
    use_channels_last,
)
from coursecnn.train.evaluate import evaluate
from coursecnn.train.health import DeadChannelTracker, dead_channel_line
from coursecnn.train.history import History
from coursecnn.train.progress import LivePlot, progress_bar, static_output
from coursecnn.train.reseed import BatchDigest, reseed_loader
from coursecnn.train.seed import seed_everything

OptimizerArg = torch.optim.Optimizer | Callable[[Any], torch.optim.Optimizer] | None


def _make_optimizer(optimizer: OptimizerArg, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    if optimizer is None:
        return torch.optim.Adam(model.parameters(), lr=lr)
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    if callable(optimizer):
        return optimizer(model.parameters())
    raise ValueError(
        "optimizer: expected None, a torch optimizer or a function of the parameters, "
        f"got {type(optimizer).__name__}"
    )


def _batches_per_epoch(loader: Iterable[Any]) -> int | None:
    try:
        return len(loader)  # type: ignore[arg-type]
    except TypeError:
        return None


def fit(
    model: nn.Module,
    train_loader: Iterable[Any],
    *,
    epochs: int,
    optimizer: OptimizerArg = None,
    lr: float = 1e-3,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    val_loader: Iterable[Any] | None = None,
    device: str | torch.device | None = None,
    amp: bool | str = "auto",
    channels_last: bool | str = "auto",
    compile: bool = False,
    early_stopping: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    live_plot: bool = False,
    history: History | None = None,
    scheduler: Any = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; returns the :class:`History`.

    train_loader, val_loader: iterables of ``(inputs (N, ...), labels (N,))`` batches.
    optimizer: a torch optimizer, a function ``params -> optimizer``, or None for Adam(``lr``).
    loss_fn: defaults to cross-entropy on logits ``(N, K)``.
    device: None picks CUDA, then MPS, then the CPU (``COURSECNN_DEVICE`` overrides); the model
        stays on that device afterwards.
    amp: ``"auto"`` (bf16/fp16 autocast on CUDA only), True, False, ``"bf16"`` or ``"fp16"``.
    channels_last: ``"auto"`` (on CUDA, for 4-D inputs), True or False.
    compile: run a ``torch.compile``\\ d copy of the model (weights are shared).
    early_stopping: patience in epochs on the validation loss; the best weights are restored.
    seed: seed Python, NumPy and torch, and restart the train loader's shuffle order
        (``reseed_loader``): the same model, data and seed give the same history whatever ran
        before. ``history.data_digest`` fingerprints the batches the run saw, so that two
        runs can be shown to have trained on the same batches.
    progress: a live tqdm bar with running loss and accuracy, then one line with the run's
        epochs, time and final metrics. When outputs are recorded for reading without a kernel
        (``COURSECNN_STATIC_OUTPUT=1``: ``./course regen``, nbval, grading) only the line is
        printed. live_plot: redraw the learning curves after every epoch in a notebook.
    On its last epoch ``fit`` watches every ``nn.ReLU`` and prints a warning line if more than
    10 % of a layer's channels never fired (``history.dead_channels``).
    history: a History to append to (to continue training).
    scheduler: an LR scheduler stepped once per epoch.
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs: expected a positive integer, got {epochs!r}")
    if early_stopping is not None:
        if val_loader is None:
            raise ValueError("early_stopping: expected a val_loader to watch, got val_loader=None")
        if not isinstance(early_stopping, int) or early_stopping < 1:
            raise ValueError(f"early_stopping: expected a patience >= 1, got {early_stopping!r}")
    if seed is not None:
        seed_everything(seed)
        reseed_loader(train_loader, seed)
    dev = pick_device(device)
    dtype = amp_dtype(amp, dev)
    cl = use_channels_last(channels_last, dev)
    loss_fn = nn.CrossEntropyLoss() if loss_fn is None else loss_fn

    model.to(dev)
    if cl:
        model.to(memory_format=torch.channels_last)
    opt = _make_optimizer(optimizer, model, lr)
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    runner = torch.compile(model) if compile else model

    history = History() if history is None else history
    history.device = str(dev)
    start_epoch = len(history)
    per_epoch = _batches_per_epoch(train_loader)
    static = static_output()
    bar = progress_bar(
        None if per_epoch is None else per_epoch * epochs, enabled=progress and not static
    )
    digest = BatchDigest()
    tracker: DeadChannelTracker | None = None
    run_start = time.perf_counter()
    plot = LivePlot() if live_plot else None
    best_loss, best_state, bad_epochs = math.inf, None, 0
    report_every = max(1, (per_epoch or 50) // 10)

    try:
        for epoch in range(start_epoch + 1, start_epoch + epochs + 1):
            bar.set_description_str(f"epoch {epoch}/{start_epoch + epochs}", refresh=False)
            model.train()
            last_epoch = epoch == start_epoch + epochs
            if last_epoch:
                tracker = DeadChannelTracker(model)
            sync(dev)
            t0 = time.perf_counter()
            loss_sum = torch.zeros((), device=dev, dtype=torch.float64)
            correct = torch.zeros((), device=dev, dtype=torch.int64)
            n, classify = 0, True
            for step, batch in enumerate(train_loader, 1):
                x, y = to_device(*unpack(batch), dev, cl)
                digest.add(x, y)
                opt.zero_grad(set_to_none=True)
                with autocast(dev, dtype):
                    out = runner(x)
                    loss = loss_fn(out.float(), y)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                else:
                    loss.backward()
                    opt.step()
                loss_sum += loss.detach().double() * len(x)
                c = count_correct(out.detach(), y)
                if c is None:
                    classify = False
                else:
                    correct += c
                n += len(x)
                bar.update(1)
                if progress and step % report_every == 0:
                    text = f"loss {loss_sum.item() / n:.4f}"
                    if classify:
                        text += f", acc {correct.item() / n:.2%}"
                    bar.set_postfix_str(text, refresh=False)
            sync(dev)
            train_time = time.perf_counter() - t0
            digest.flush()
            if tracker is not None:
                tracker.close()
            if n == 0:
                raise ValueError("train_loader: expected at least one batch, got an empty loader")
            train_loss = loss_sum.item() / n
            if not math.isfinite(train_loss):
                raise FloatingPointError(
                    f"epoch {epoch}: the training loss became {train_loss}; lower the learning "
                    "rate or check the inputs for NaN"
                )
            train_acc = correct.item() / n if classify else float("nan")
            val_loss = val_acc = float("nan")
            if val_loader is not None:
                res = evaluate(runner, val_loader, dev, loss_fn, amp=amp, channels_last=cl)
                val_loss, val_acc = res["loss"], res["accuracy"]
            if scheduler is not None:
                scheduler.step()
            history.append(
                train_loss=train_loss,
                train_acc=train_acc,
                val_loss=val_loss,
                val_acc=val_acc,
                epoch_time=time.perf_counter() - t0,
                images_per_sec=n / train_time if train_time > 0 else float("inf"),
            )
            text = f"loss {train_loss:.4f}"
            if classify:
                text += f", acc {train_acc:.2%}"
            if val_loader is not None:
                text += f", val loss {val_loss:.4f}, val acc {val_acc:.2%}"
            bar.set_postfix_str(text, refresh=False)
            if plot is not None:
                plot.update(history)
            if early_stopping is not None:
                if val_loss < best_loss:
                    best_loss, bad_epochs = val_loss, 0
                    best_state = copy.deepcopy(model.state_dict())
                    history.best_epoch = epoch
                else:
                    bad_epochs += 1
                    if bad_epochs >= early_stopping:
                        history.stopped_early = True
                        break
    finally:
        bar.close()
        if tracker is not None:
            tracker.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    history.data_digest = digest.hexdigest()
    if tracker is not None and tracker.seen:
        dead = tracker.result()
        history.dead_channels = {d.name: (d.dead, d.channels) for d in dead}
    else:
        dead = []
    if progress:
        ran = len(history) - start_epoch
        print(
            f"fit: {ran} epoch{'s' if ran != 1 else ''} in {time.perf_counter() - run_start:.1f} s "
            f"on {dev}: {history.summary()}",
            flush=True,
        )
    line = dead_channel_line(dead, "the last epoch's training images")
    if line:
        print(line, flush=True)
    return history
