"""make_canvases: seeded, and every label lines up with the pixel it labels (overlap rule)."""

from __future__ import annotations

import numpy as np
import pytest

from coursecnn.data import CANVAS_CLASSES, FASHION_CLASSES, fashion_mnist, make_canvases


@pytest.fixture(scope="module")
def items():
    x, y = fashion_mnist("test")
    return x[:300], y[:300]


def test_shapes_dtypes_and_classes(items):
    x, y = items
    c = make_canvases(x, y, 7, size=(40, 56), items=3, seed=1)
    assert len(c) == 7
    assert c.images.shape == (7, 40, 56) and c.images.dtype == np.uint8
    assert c.masks.shape == (7, 40, 56) and c.masks.dtype == np.int64
    assert c.classes.shape == (7, 3) and c.positions.shape == (7, 3, 2)
    assert c.sources.shape == (7, 3)
    assert np.array_equal(c.classes, y[c.sources])
    assert all(len(set(row)) == 3 for row in c.sources)  # distinct items within a canvas
    assert c.positions[..., 0].max() <= 40 - 28 and c.positions[..., 1].max() <= 56 - 28
    assert c.positions.min() >= 0
    assert c.masks.max() <= 10 and CANVAS_CLASSES == ("background", *FASHION_CLASSES)


def test_seeded_and_different_seeds_differ(items):
    a = make_canvases(*items, 5, seed=3)
    b = make_canvases(*items, 5, seed=3)
    c = make_canvases(*items, 5, seed=4)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)


def _render(x, y, canvases, i, threshold):
    """Canvas i drawn again, pixel by pixel: the last item covering a pixel wins."""
    h, w = canvases.images.shape[1:]
    image = np.zeros((h, w), dtype=np.uint8)
    mask = np.zeros((h, w), dtype=np.int64)
    for k, src in enumerate(canvases.sources[i]):
        r0, c0 = canvases.positions[i, k]
        for r in range(x.shape[1]):
            for c in range(x.shape[2]):
                if x[src, r, c] >= threshold:
                    image[r0 + r, c0 + c] = x[src, r, c]
                    mask[r0 + r, c0 + c] = 1 + y[src]
    return image, mask


@pytest.mark.parametrize("threshold", [1, 32, 200])
def test_labels_line_up_with_pixels(items, threshold):
    x, y = items
    canvases = make_canvases(x, y, 6, size=(36, 50), items=2, threshold=threshold, seed=5)
    for i in range(len(canvases)):
        image, mask = _render(x, y, canvases, i, threshold)
        assert np.array_equal(canvases.images[i], image)
        assert np.array_equal(canvases.masks[i], mask)
    # background is exactly the undrawn pixels; drawn pixels are at least the threshold
    assert np.array_equal(canvases.masks == 0, canvases.images == 0)
    assert canvases.images[canvases.masks > 0].min() >= threshold
    # a pixel labelled 1 + c holds the intensity of an item of class c at that place
    for i in range(len(canvases)):
        for r, c in zip(*np.nonzero(canvases.masks[i]), strict=True):
            label = canvases.masks[i, r, c] - 1
            holders = [
                canvases.sources[i, k]
                for k in range(2)
                if y[canvases.sources[i, k]] == label
                and 0 <= r - canvases.positions[i, k, 0] < 28
                and 0 <= c - canvases.positions[i, k, 1] < 28
            ]
            values = [
                x[s, r - canvases.positions[i, k, 0], c - canvases.positions[i, k, 1]]
                for k, s in enumerate(canvases.sources[i])
                if s in holders
            ]
            assert canvases.images[i, r, c] in values


def test_overlap_rule_the_later_item_is_on_top():
    # two items that fill the whole canvas: the second covers the first where it is bright
    a = np.full((4, 5), 100, dtype=np.uint8)
    b = np.zeros((4, 5), dtype=np.uint8)
    b[1:3, 1:4] = 250
    b[0, 0] = 10  # below the threshold: not drawn, the first item shows through
    images, labels = np.stack([a, b]), np.array([3, 7])
    for seed in range(20):
        c = make_canvases(images, labels, 1, size=(4, 5), items=2, threshold=32, seed=seed)
        order = c.sources[0]
        first, second = images[order[0]], images[order[1]]
        top = second >= 32
        assert np.array_equal(c.images[0], np.where(top, second, np.where(first >= 32, first, 0)))
        expected = np.where(
            top, 1 + labels[order[1]], np.where(first >= 32, 1 + labels[order[0]], 0)
        )
        assert np.array_equal(c.masks[0], expected)
        if order[0] == 0:  # a below b: b's bright square is label 8, the rest label 4
            assert (c.masks[0] == 8).sum() == 6 and (c.masks[0] == 4).sum() == 14


def test_one_item_canvas_of_the_item_size_is_the_item_thresholded(items):
    x, y = items
    c = make_canvases(x, y, 4, size=28, items=1, threshold=32, seed=0)
    for i in range(4):
        item = x[c.sources[i, 0]]
        assert np.array_equal(c.images[i], np.where(item >= 32, item, 0))
        assert np.array_equal(c.masks[i], np.where(item >= 32, 1 + y[c.sources[i, 0]], 0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"images": np.zeros((3, 28, 28))}, "images: expected uint8"),
        ({"images": np.zeros((3, 28), dtype=np.uint8)}, "images: expected uint8"),
        ({"labels": np.zeros(4, dtype=np.int64)}, "labels: expected 3"),
        ({"labels": np.array([0.0, 1.0, 2.0])}, "labels: expected 3"),
        ({"labels": np.array([0, -1, 2])}, "labels: expected non-negative"),
        ({"n": 0}, "n: expected a positive"),
        ({"items": 4}, "items: expected at most the 3"),
        ({"size": (20, 40)}, r"size: expected a canvas at least as large as an item \(28, 28\)"),
        ({"size": (30, 40, 2)}, "size: expected an int or a pair"),
        ({"threshold": 0}, "threshold: expected an integer in 1..255"),
        ({"threshold": 0.5}, "threshold: expected an integer"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    args = {
        "images": np.zeros((3, 28, 28), dtype=np.uint8),
        "labels": np.array([0, 1, 2]),
        "n": 2,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_canvases(**args)
