"""Pixel accuracy, IoU, predict_masks; few_labels and the linear probe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torchvision.ops import box_iou

from coursecnn.train import iou_per_class, mean_iou, pixel_accuracy, predict_masks
from coursecnn.train.probe import few_labels, linear_probe

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------------- IoU
@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(4, 12),
    w=st.integers(4, 12),
    a=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 4), st.integers(1, 4)),
    b=st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(1, 4), st.integers(1, 4)),
)
def test_iou_of_two_rectangles_is_torchvision_box_iou(h, w, a, b):
    def mask(r):
        top, left, height, width = r
        m = np.zeros((h, w), dtype=np.int64)
        m[top : top + height, left : left + width] = 1
        return m, [left, top, min(left + width, w), min(top + height, h)]  # x1, y1, x2, y2

    (pm, pbox), (tm, tbox) = mask(a), mask(b)
    want = box_iou(
        torch.tensor([pbox], dtype=torch.float64), torch.tensor([tbox], dtype=torch.float64)
    )
    assert np.isclose(iou_per_class(pm, tm, 2)[1], want.item())


def test_iou_by_hand_absent_classes_and_pooling():
    target = np.array([[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 0]])
    pred = np.array([[0, 1, 1, 1], [0, 0, 1, 2], [2, 2, 0, 0]])
    iou = iou_per_class(pred, target, 5)
    # class 0: inter 4, union 6; class 1: inter 3, union 5; class 2: inter 2, union 4
    assert np.allclose(iou[:3], [4 / 6, 3 / 5, 2 / 4]) and np.isnan(iou[3:]).all()
    assert np.isclose(mean_iou(pred, target, 5), (4 / 6 + 3 / 5 + 2 / 4) / 3)
    assert np.isclose(pixel_accuracy(pred, target), 9 / 12)
    # a class only predicted has IoU 0 and counts
    assert iou_per_class(np.array([3, 0]), np.array([0, 0]), 4)[3] == 0.0
    assert np.isclose(mean_iou(np.array([3, 0]), np.array([0, 0]), 4), (1 / 2 + 0) / 2)
    # a batch is pooled: not the mean of the per-image scores
    pb, tb = np.stack([pred, np.zeros_like(pred)]), np.stack([target, np.zeros_like(target)])
    pooled = mean_iou(pb, tb, 3)
    per_image = (mean_iou(pred, target, 3) + mean_iou(pb[1], tb[1], 3)) / 2
    assert not np.isclose(pooled, per_image)
    assert np.isclose(pooled, np.nanmean(iou_per_class(pb.ravel(), tb.ravel(), 3)))
    assert np.isnan(mean_iou(np.zeros(0, int), np.zeros(0, int), 3))
    assert np.isnan(pixel_accuracy(np.zeros(0), np.zeros(0)))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6))
def test_iou_properties(seed, k):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, size=(3, 5, 4))
    p = rng.integers(0, k, size=(3, 5, 4))
    assert mean_iou(t, t, k) == 1.0 and pixel_accuracy(t, t) == 1.0
    assert np.isclose(mean_iou(p, t, k), mean_iou(t, p, k))  # symmetric
    iou = iou_per_class(p, t, k)
    assert np.all((iou[~np.isnan(iou)] >= 0) & (iou[~np.isnan(iou)] <= 1))
    # relabelling the classes the same way in both leaves the mean unchanged
    perm = rng.permutation(k)
    assert np.isclose(mean_iou(perm[p], perm[t], k), mean_iou(p, t, k))


def test_metric_bad_arguments():
    with pytest.raises(ValueError, match="preds: expected the shape of labels"):
        pixel_accuracy(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"labels: expected class indices in \[0, 3\)"):
        mean_iou(np.zeros(4, int), np.array([0, 1, 2, 3]), 3)


# -------------------------------------------------------------------------- predict_masks
def test_predict_masks_argmax_per_pixel_in_order_and_mode_kept():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4))
    x = torch.rand(7, 1, 5, 6)
    model.train()
    masks = predict_masks(model, x, batch_size=3)
    assert model.training  # put back
    model.eval()
    with torch.no_grad():
        want = model(x).argmax(1).numpy()
    assert masks.dtype == np.int64 and masks.shape == (7, 5, 6)
    assert np.array_equal(masks, want)
    with pytest.raises(ValueError, match="images: expected a 4-D tensor"):
        predict_masks(model, x[0])
    with pytest.raises(ValueError, match="model: expected scores"):
        predict_masks(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten()), x)


# ----------------------------------------------------------------------------- few labels
def test_few_labels_are_stratified_nested_and_seeded():
    labels = np.repeat(np.arange(4), 30)[np.random.default_rng(0).permutation(120)]
    small, big = few_labels(labels, 3), few_labels(labels, 10)
    assert np.array_equal(np.bincount(labels[small]), [3, 3, 3, 3])
    assert np.array_equal(np.bincount(labels[big]), [10] * 4)
    assert set(small) <= set(big) and len(set(big)) == 40
    assert np.array_equal(few_labels(labels, 3), small)
    assert not np.array_equal(few_labels(labels, 3, seed=1), small)
    with pytest.raises(ValueError, match="per_class: expected at most 30"):
        few_labels(labels, 31)
    with pytest.raises(ValueError, match="per_class: expected a positive"):
        few_labels(labels, 0)
    with pytest.raises(ValueError, match="labels: expected a 1-D integer"):
        few_labels(labels.astype(float), 2)


# ---------------------------------------------------------------------------- linear probe
def _blobs(n, n_test, d=5, k=3, spread=1.0):
    """Training and test points of the same k Gaussian blobs."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n + n_test)
    x = centres[y] + spread * rng.normal(size=(n + n_test, d))
    return x[:n], y[:n], x[n:], y[n:]


def test_probe_reaches_the_minimum_of_its_objective():
    x, y, xt, yt = _blobs(60, 200, spread=2.0)
    res = linear_probe(x, y, xt, yt, C=0.5)
    # the same objective minimised by a long, plain gradient descent in float64
    xs = torch.from_numpy((x - x.mean(0)) / x.std(0, ddof=1))
    w = torch.zeros(5, 3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([w, b], lr=0.05)
    for _ in range(4000):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(xs @ w + b, torch.from_numpy(y), reduction="sum")
        loss = loss + 0.5 / 0.5 * w.pow(2).sum()
        loss.backward()
        opt.step()
    assert res.train_loss == pytest.approx(loss.item() / 60, rel=1e-5)
    assert 0.5 < res.accuracy <= 1.0 and res.iterations > 0
    assert isinstance(res.model, nn.Linear)


def test_probe_standardises_with_the_given_statistics_and_validates():
    x, y, xt, yt = _blobs(40, 50)
    a = linear_probe(x, y, xt, yt)
    b = linear_probe(10 * x + 3, y, 10 * xt + 3, yt)  # standardising removes the scale
    assert a.accuracy == b.accuracy and np.isclose(a.train_loss, b.train_loss)
    c = linear_probe(x, y, xt, yt, mean=np.zeros(5), std=np.ones(5))
    assert c.train_loss != pytest.approx(a.train_loss)
    with pytest.raises(ValueError, match="test_features: expected 5 features"):
        linear_probe(x, y, xt[:, :3], yt)
    with pytest.raises(ValueError, match="labels: expected shape"):
        linear_probe(x, y[:5], xt, yt)
    with pytest.raises(ValueError, match="features: expected a 2-D"):
        linear_probe(x[0], y, xt, yt)
    with pytest.raises(ValueError, match="C: expected a positive"):
        linear_probe(x, y, xt, yt, C=0)


# ------------------------------------------------------------- outputs and image quality
def test_predict_outputs_batches_and_call():
    from coursecnn.models import conv_autoencoder
    from coursecnn.train import predict_outputs

    torch.manual_seed(0)
    model = conv_autoencoder(code_size=4)
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        want, codes = model(x), model.encode(x)
    assert torch.allclose(predict_outputs(model, x, batch_size=2), want)
    assert torch.allclose(predict_outputs(model, x, batch_size=3, call=model.encode), codes)
    with pytest.raises(ValueError, match="inputs: expected a tensor"):
        predict_outputs(model, x.numpy())
    with pytest.raises(ValueError, match="inputs: expected at least one"):
        predict_outputs(model, x[:0])


def test_image_quality_is_skimage_per_image_and_edge_ratio():
    from skimage.filters import gaussian
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    from coursecnn.train import image_quality

    rng = np.random.default_rng(0)
    ref = rng.random((3, 16, 20))
    noisy = np.clip(ref + 0.1 * rng.normal(size=ref.shape), 0, 1)
    q = image_quality(noisy, ref)
    assert np.isclose(q["psnr"], np.mean([peak_signal_noise_ratio(r, n, data_range=1.0)
                                          for r, n in zip(ref, noisy, strict=True)]))  # fmt: skip
    assert np.isclose(q["ssim"], np.mean([structural_similarity(r, n, data_range=1.0)
                                          for r, n in zip(ref, noisy, strict=True)]))  # fmt: skip
    blurred = np.stack([gaussian(r, sigma=2) for r in ref])
    assert image_quality(blurred, ref)["edge_ratio"] < 0.5 < image_quality(ref, ref)["edge_ratio"]
    same = image_quality(ref, ref)
    assert same["psnr"] == np.inf and np.isclose(same["ssim"], 1.0) and same["edge_ratio"] == 1.0
    with pytest.raises(ValueError, match="images: expected"):
        image_quality(ref[0], ref[0])


def test_history_summary_leaves_out_accuracies_that_were_not_measured():
    from coursecnn.train import History

    h = History()
    nan = float("nan")
    h.append(train_loss=0.5, train_acc=nan, val_loss=0.25, val_acc=nan, epoch_time=1.0,
             images_per_sec=10.0)  # fmt: skip
    assert "acc" not in h.summary() and "val loss 0.2500" in h.summary()


def test_principal_components_match_the_svd():
    from coursecnn.train import principal_components

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 5.0
    mean, axes = principal_components(x, 3)
    _, s, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    assert np.allclose(mean, x.mean(0))
    assert np.allclose(np.abs(axes @ vt[:3].T), np.eye(3), atol=1e-8)  # the same axes, up to sign
    codes = (x - mean) @ axes.T
    assert np.allclose(codes.var(axis=0, ddof=1), s[:3] ** 2 / 199)  # variances, largest first
    assert np.all(axes[np.arange(3), np.abs(axes).argmax(1)] > 0)
    with pytest.raises(ValueError, match="k: expected an integer from 1 to 6"):
        principal_components(x, 7)
    with pytest.raises(ValueError, match="x: expected a 2-D"):
        principal_components(x[0], 1)
