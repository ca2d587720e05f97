"""show_segmentation and label_colormap: label maps drawn beside their images."""

from __future__ import annotations

import numpy as np
import pytest

from coursecnn import plots


def test_label_colormap_background_is_black_and_colours_distinct():
    cmap = plots.label_colormap(11)
    colours = [tuple(c) for c in cmap.colors]
    assert len(colours) == 11 and colours[0] == (0.0, 0.0, 0.0)
    assert len(set(colours)) == 11
    with pytest.raises(ValueError, match="num_classes"):
        plots.label_colormap(0)
    with pytest.raises(ValueError, match="num_classes: expected at most"):
        plots.label_colormap(40)


def test_show_segmentation_draws_a_row_per_image_and_names_the_classes():
    rng = np.random.default_rng(0)
    images = rng.random((3, 6, 9))
    truth = rng.integers(0, 4, size=(3, 6, 9))
    fig = plots.show_segmentation(images, {"truth": truth, "model": truth[::-1]},
                                  ["bg", "a", "b", "c"], suptitle="demo")  # fmt: skip
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 9  # 3 rows x (image, truth, model)
    assert [ax.get_title() for ax in image_axes[:3]] == ["image", "truth", "model"]
    assert np.array_equal(image_axes[1].images[0].get_array(), truth[0])
    assert image_axes[1].images[0].get_clim() == (-0.5, 3.5)  # every map in the same colours
    bar = [ax for ax in fig.axes if not ax.images]
    assert [t.get_text() for t in bar[0].get_yticklabels()] == ["bg", "a", "b", "c"]
    with pytest.raises(ValueError, match=r"label_maps\['truth'\]: expected shape"):
        plots.show_segmentation(images, {"truth": truth[:2]}, ["bg", "a", "b", "c"])
    with pytest.raises(ValueError, match="images: expected"):
        plots.show_segmentation(images[0], {}, ["bg"])
