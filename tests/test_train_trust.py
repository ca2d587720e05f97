"""Runs you can trust: a run is a function of its seed, sick nets are named, outputs read right."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from torch import nn

from coursecnn.data import loader as data_loader
from coursecnn.grading.runtime import (
    PREFIX,
    format_duration,
    read_timings,
    record_timing,
    set_runtime_line,
    stated_seconds,
)
from coursecnn.train import (
    TensorLoader,
    fit,
    health_report,
    reseed_loader,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    return x, y


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Flatten(),
        nn.Linear(4 * 64, 2),
    )


def _run(loader, seed, epochs=2, lr=1e-2):
    h = fit(_net(), loader, epochs=epochs, lr=lr, seed=seed, device="cpu", progress=False)
    return h.train_loss, h.data_digest


def test_a_run_is_a_function_of_its_seed_whatever_ran_before():
    x, y = _data()
    train = TensorLoader(x, y, 16, shuffle=True, seed=123)
    first = _run(train, seed=0)
    other = _run(train, seed=1)
    again = _run(train, seed=0)
    assert first == again  # identical losses and batches
    assert other[1] != first[1]  # another seed, another shuffle


def test_same_seed_same_batches_for_a_torch_dataloader_with_a_generator():
    x, y = _data()
    dl = data_loader(x.numpy()[:, 0], y.numpy(), batch_size=16, shuffle=True, seed=5)
    a = _run(dl, seed=3)
    _run(dl, seed=4)
    b = _run(dl, seed=3)
    assert a == b


def test_two_passes_over_a_loader_differ_until_reseeded():
    x, y = _data()
    train = TensorLoader(x, y, 16, shuffle=True, seed=7)
    p1 = torch.cat([yb for _, yb in train])
    p2 = torch.cat([yb for _, yb in train])
    assert not torch.equal(p1, p2)
    assert reseed_loader(train, 7)
    assert torch.equal(torch.cat([yb for _, yb in train]), p1)
    assert reseed_loader([(x, y)], 7) is False  # a plain list has no order to reset


def test_reseed_rejects_a_non_integer_seed():
    x, y = _data()
    with pytest.raises(ValueError, match="seed: expected an integer, got 1.5"):
        TensorLoader(x, y, 16, shuffle=True).reseed(1.5)


def test_the_digest_tells_same_from_different_batches():
    x, y = _data()
    ordered = TensorLoader(x, y, 16)
    h1 = fit(_net(), ordered, epochs=1, device="cpu", progress=False)
    h2 = fit(_net(1), ordered, epochs=1, device="cpu", progress=False, lr=0.5)
    assert h1.data_digest == h2.data_digest  # another model, the same batches
    x2 = x.clone()
    x2[0, 0, 0, 0] += 1.0
    h3 = fit(_net(), TensorLoader(x2, y, 16), epochs=1, device="cpu", progress=False)
    assert h3.data_digest != h1.data_digest  # one pixel changed


def _dead_net():
    net = _net()
    with torch.no_grad():
        net[0].bias[:2] = -100.0  # channels 0 and 1 can never fire
    return net


def test_health_report_counts_dead_channels_and_leaves_the_model_as_found():
    x, y = _data()
    net = _dead_net()
    net.train()
    net[0].weight.grad = torch.ones_like(net[0].weight)
    report = health_report(net, TensorLoader(x, y, 32))
    assert [(d.dead, d.channels) for d in report.dead] == [(2, 4)]
    assert report.worst_dead_share == 0.5
    assert report.dead_layers()[0].name == "1"
    assert net.training and torch.equal(net[0].weight.grad, torch.ones_like(net[0].weight))
    assert "NOT healthy" in str(report) and "2 of    4 channels dead" in str(report)
    healthy = health_report(_net(), TensorLoader(x, y, 32))
    assert healthy.worst_dead_share == 0.0 and "healthy" in str(healthy)


def test_health_report_flags_a_vanishing_gradient():
    x, y = _data()
    net = _net()
    with torch.no_grad():
        net[4].weight.mul_(1e-6)  # the head scales every earlier gradient down a millionfold
    report = health_report(net, TensorLoader(x, y, 32))
    assert [g.verdict for g in report.gradients] == ["vanishing", "ok"]


def test_health_report_rejects_an_empty_loader():
    with pytest.raises(ValueError, match="loader: expected at least one batch"):
        health_report(_net(), [])


def test_fit_warns_in_one_line_when_a_run_leaves_dead_channels(capsys):
    x, y = _data()
    h = fit(_dead_net(), TensorLoader(x, y, 16), epochs=1, lr=1e-4, device="cpu", progress=False)
    out = capsys.readouterr().out
    assert h.dead_channels == {"1": (2, 4)}
    warn = [ln for ln in out.splitlines() if ln.startswith("WARNING: dead ReLU channels")]
    assert len(warn) == 1 and "1 2 of 4 (50%)" in warn[0]
    fit(_net(), TensorLoader(x, y, 16), epochs=1, device="cpu", progress=False)
    assert "WARNING" not in capsys.readouterr().out


def test_static_output_prints_one_line_and_no_bar(capsys, monkeypatch):
    x, y = _data()
    monkeypatch.setenv("COURSECNN_STATIC_OUTPUT", "1")
    fit(_net(), TensorLoader(x, y, 16), epochs=2, val_loader=TensorLoader(x, y, 32), device="cpu")
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fit: 2 epochs in ")
    assert "val acc" in lines[0] and "%|" not in captured.err + captured.out


def test_runtime_line_round_trips_and_timings_are_recorded(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · x\n\nhello")])
    set_runtime_line(nb, 131.0)
    set_runtime_line(nb, 95.0)  # replaced, not added twice
    assert nb.cells[0].source.count(PREFIX) == 1
    assert stated_seconds(nb) == 95
    assert format_duration(131) == "about 2 min 10 s"
    with pytest.raises(ValueError, match="seconds"):
        format_duration(-1)
    path = tmp_path / "99_x.ipynb"
    record_timing(path, 95.04)
    assert read_timings(tmp_path)["99_x.ipynb"]["seconds"] == 95.0
    assert list(tmp_path.iterdir()) == [tmp_path / "timings.json"]  # no temp file left


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9]*.ipynb")), ids=lambda p: p.stem)
def test_each_notebook_states_its_measured_run_time(path):
    nb = nbformat.read(path, as_version=4)
    stated = stated_seconds(nb)
    assert stated is not None, f"{path.name}: the opening cell has no '{PREFIX}' line"
    measured = read_timings(NOTEBOOKS)[path.name]["seconds"]
    assert abs(stated - measured) <= 0.3 * measured, (path.name, stated, measured)


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("[0-9]*.ipynb")), ids=lambda p: p.stem)
def test_no_committed_output_shows_a_progress_bar(path):
    nb = json.loads(path.read_text())
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = "".join(out.get("text", "")) + "".join(data.get("text/plain", ""))
            assert not re.search(r"\d+%\|", text), f"{path.name} cell {i}: a progress bar"
            assert "application/vnd.jupyter.widget-view+json" not in data or not re.search(
                r"(training|epoch)", "".join(data.get("text/plain", ""))
            ), f"{path.name} cell {i}: a progress-bar widget"


def test_digest_is_insensitive_to_nothing_but_the_data():
    x, y = _data()
    a = fit(_net(), TensorLoader(x, y, 16), epochs=1, device="cpu", progress=False).data_digest
    b = fit(_net(), TensorLoader(x, y, 32), epochs=1, device="cpu", progress=False).data_digest
    assert a != b  # other batch boundaries
    assert np.all(np.isfinite(x.numpy()))


def test_loader_digest_matches_fit_and_sees_through_augmentation():
    from coursecnn.data.augment import AugmentedDataset
    from coursecnn.train import loader_digest

    x, y = _data(40)
    pix = (x - x.min()) / (x.max() - x.min())  # pixels in [0, 1]
    data = AugmentedDataset(pix, y, lambda img: img.flip(-1))  # mirrored: the same pixel sum
    batches = data_loader(data, batch_size=8, shuffle=True, seed=3)
    clean = data_loader(AugmentedDataset(pix, y), batch_size=8, shuffle=True, seed=5)
    h = fit(nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), clean, epochs=2, seed=1, progress=False)
    assert loader_digest(clean, 2, seed=1) == h.data_digest
    assert loader_digest(batches, 2, seed=1) != h.data_digest  # mirrored images
    data.transform = None
    assert loader_digest(batches, 2, seed=1) == h.data_digest  # the same images, same order
    assert loader_digest(batches, 2, seed=2) != h.data_digest
    with pytest.raises(ValueError, match="epochs"):
        loader_digest(batches, 0)
