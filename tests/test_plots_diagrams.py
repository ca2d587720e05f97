"""The architecture diagrams of coursecnn.plots: each draws, has a title and the right labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from coursecnn import plots  # noqa: E402


def _texts(fig) -> str:
    parts = [fig._suptitle.get_text()] if fig._suptitle else []
    for ax in fig.axes:
        parts += [ax.get_title(), ax.get_xlabel()] + [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend is not None:
            parts += [t.get_text() for t in legend.get_texts()]
    return "\n".join(parts)


def _draws(fig) -> str:
    fig.canvas.draw()  # renders without error
    text = _texts(fig)
    plt.close(fig)
    return text


def test_inception_module_naive_and_reduced():
    naive = _draws(plots.inception_module(naive=True))
    assert "Inception module, naive" in naive
    for label in ("previous layer", "1x1 conv", "3x3 conv", "5x5 conv", "3x3 max pool",
                  "filter concatenation"):  # fmt: skip
        assert label in naive
    assert "reduce" not in naive and "pool proj" not in naive
    reduced = _draws(plots.inception_module())
    assert "with 1x1 dimension reductions" in reduced
    for label in ("1x1 conv (3x3 reduce)", "1x1 conv (5x5 reduce)", "1x1 conv (pool proj)"):
        assert label in reduced


def test_residual_blocks_identity_projection_and_bottleneck():
    identity = _draws(plots.residual_block())
    assert "identity shortcut" in identity and "3x3 conv, 64 -> 64" in identity
    assert "y = ReLU(F(x) + shortcut(x))" in identity and "+" in identity
    projection = _draws(plots.residual_block(projection=True))
    assert "projection shortcut" in projection
    assert "1x1 conv, 64 -> 128,\nstride 2, BN" in projection
    assert "3x3 conv, 64 -> 128, stride 2" in projection
    bottleneck = _draws(plots.bottleneck_block())
    assert "Bottleneck block, 256 -> 64 -> 256" in bottleneck
    for label in ("1x1 conv, 256 -> 64", "3x3 conv, 64 -> 64", "1x1 conv, 64 -> 256"):
        assert label in bottleneck


def test_stacked_3x3_highlights_5_3_and_1():
    fig = plots.stacked_3x3()
    orange = [
        sum(p.get_facecolor()[:3] == matplotlib.colors.to_rgb("tab:orange") for p in ax.patches)
        for ax in fig.axes
    ]
    assert orange == [25, 9, 1]  # 5x5 pixels, 3x3 units, one unit
    text = _draws(fig)
    assert "receptive field of 5x5" in text and "18 instead of 25" in text


@pytest.mark.parametrize(("depth", "blocks", "channels"), [(18, "2 x basic", "512 maps"),
                                                         (50, "6 x bottleneck", "2048 maps")])  # fmt: skip
def test_resnet_stages_read_the_depths_table(depth, blocks, channels):
    text = _draws(plots.resnet_stages(depth))
    assert f"ResNet-{depth}" in text and blocks in text and channels in text
    assert "7x7" in text and "56x56" in text and "fc\n1000" in text
    assert f"= {depth};" in text  # the weight layers add up to the depth


def test_resnet_stages_rejects_an_unknown_depth():
    with pytest.raises(ValueError, match="depth: expected one of"):
        plots.resnet_stages(20)
