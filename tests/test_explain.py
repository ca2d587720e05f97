"""coursecnn.explain against what nobody here wrote: captum's ``Saliency``, ``Occlusion``,
``LayerGradCam``, ``GuidedBackprop`` and ``Deconvolution``, slicing ``nn.Sequential``, autograd (receptive fields as gradient supports),
``summary``'s receptive fields, ``scipy.ndimage`` (the blur) and ``np.corrcoef``.

Random models and inputs are drawn by hypothesis: batch and channel counts of 1, non-square
images and kernels, strides that leave remainders. Models are float64 so that agreement is
exact to rounding.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from torch import nn

from coursecnn import explain
from coursecnn.explain import (
    activation_maximization,
    correlations,
    feature_maps,
    gabor_bank,
    gabor_match,
    gaussian_blur,
    grad_cam,
    guided_backprop,
    guided_relu_backward,
    occlusion,
    phase_scrambled,
    receptive_field,
    roughness,
    saliency,
    top_patches,
)
from coursecnn.models import summary
from coursecnn.widgets.kernels import gabor_kernel

pytestmark = pytest.mark.usefixtures("one_torch_thread")
DT = torch.float64


# --- random models ---------------------------------------------------------------------------
@st.composite
def cnn_cases(draw, max_side: int = 12):
    """(model, x, targets): a random small CNN (float64, eval-able) and a batch for it."""
    n = draw(st.integers(1, 3))
    c = draw(st.integers(1, 3))
    h = draw(st.integers(6, max_side))
    w = draw(st.integers(6, max_side))
    f1 = draw(st.integers(1, 4))
    k1 = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    pad = draw(st.integers(0, 1))
    act = draw(st.sampled_from([nn.ReLU, nn.Tanh, nn.LeakyReLU]))
    pool = draw(st.booleans())
    f2 = draw(st.integers(1, 4))
    k = draw(st.integers(2, 5))
    seed = draw(st.integers(0, 2**16))
    torch.manual_seed(seed)
    layers = [nn.Conv2d(c, f1, k1, padding=pad), act()]
    if pool:
        layers.append(nn.MaxPool2d(2, ceil_mode=True))
    layers += [nn.Conv2d(f1, f2, 3, padding=1), act(), nn.Flatten()]
    body = nn.Sequential(*layers).to(DT)
    with torch.no_grad():
        flat = body(torch.zeros(1, c, h, w, dtype=DT)).shape[1]
    model = nn.Sequential(*layers, nn.Linear(flat, k)).to(DT).eval()
    x = torch.randn(n, c, h, w, dtype=DT)
    targets = draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    return model, x, targets


def small_cnn(c: int = 2, k: int = 4, inplace: bool = False, dropout: bool = False) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(c, 3, 3, padding=1),
        nn.BatchNorm2d(3),
        nn.ReLU(inplace=inplace),
        nn.Conv2d(3, 4, 3),
        nn.ReLU(inplace=inplace),
        nn.Dropout(0.5) if dropout else nn.Identity(),
        nn.Flatten(),
        nn.Linear(4 * 5 * 6, k),
    ).to(DT)


# --- saliency --------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(cnn_cases())
def test_saliency_matches_captum(case):
    model, x, targets = case
    ours = saliency(model, x, targets)
    ref = Saliency(model).attribute(x, target=targets, abs=True)
    assert ours.shape == x.shape
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)


def test_saliency_one_target_for_all_and_a_tensor_of_targets():
    model, x = small_cnn().eval(), torch.randn(3, 2, 7, 8, dtype=DT)
    ref = Saliency(model).attribute(x, target=2, abs=True)
    torch.testing.assert_close(saliency(model, x, 2), ref)
    torch.testing.assert_close(saliency(model, x, torch.tensor([2, 2, 2])), ref)
    torch.testing.assert_close(saliency(model, x, np.array([2, 2, 2])), ref)
    with pytest.raises(ValueError, match="target"):
        saliency(model, x, np.array([2.0, 2.0, 2.0]))
    with pytest.raises(ValueError, match="target"):
        saliency(model, x, torch.tensor([[2, 2, 2]]))


def test_saliency_is_each_images_own_gradient():
    model, x = small_cnn().eval(), torch.randn(2, 2, 7, 8, dtype=DT)
    both = saliency(model, x, [1, 3])
    torch.testing.assert_close(both[1:], saliency(model, x[1:], 3))
    xi = x[:1].clone().requires_grad_(True)
    model(xi)[0, 1].backward()
    torch.testing.assert_close(both[:1], xi.grad.abs())


# --- guided backprop and the deconvnet ---------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(cnn_cases(), st.sampled_from(["guided", "deconvnet"]))
def test_guided_backprop_matches_captum(case, rule):
    model, x, targets = case
    ours = guided_backprop(model, x, targets, rule=rule)
    captum_class = GuidedBackprop if rule == "guided" else Deconvolution
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # captum warns that it sets backward hooks
        ref = captum_class(model).attribute(x.clone(), target=targets)
    assert ours.shape == x.shape
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)


def test_guided_backprop_of_a_model_with_batch_norm_pooling_and_in_place_relus():
    model, x = small_cnn(inplace=True).eval(), torch.randn(3, 2, 7, 8, dtype=DT)
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
    reference = small_cnn(inplace=False).eval()
    reference.load_state_dict(model.state_dict())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = GuidedBackprop(reference).attribute(x.clone(), target=[0, 2, 3])
    torch.testing.assert_close(guided_backprop(model, x, [0, 2, 3]), ref, rtol=1e-10, atol=1e-12)
    assert all(m.inplace for m in model.modules() if isinstance(m, nn.ReLU)), "inplace restored"
    # without ReLU modules guided backprop is the plain gradient
    tanh = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 5 * 6, 4))
    tanh = tanh.to(DT).eval()
    xi = x.clone().requires_grad_(True)
    tanh(xi)[:, 1].sum().backward()
    torch.testing.assert_close(guided_backprop(tanh, x, 1), xi.grad)
    with pytest.raises(ValueError, match="rule"):
        guided_backprop(model, x, 0, rule="deconv")


def test_guided_relu_backward_is_the_rule():
    x = torch.tensor([-1.0, 0.0, 2.0, 3.0, 0.5, -2.0, 4.0])
    g = torch.tensor([1.0, 5.0, -1.0, 2.0, 0.0, -3.0, 0.5])
    x0, g0 = x.clone(), g.clone()
    got = guided_relu_backward(x, g)
    torch.testing.assert_close(got, torch.tensor([0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.5]))
    assert torch.equal(x, x0) and torch.equal(g, g0), "the inputs are left alone"
    xr = torch.randn(3, 4, 5, dtype=DT).requires_grad_(True)  # against autograd's ReLU backward
    gr = torch.randn(3, 4, 5, dtype=DT)
    (plain,) = torch.autograd.grad(torch.relu(xr), xr, gr)
    torch.testing.assert_close(guided_relu_backward(xr.detach(), gr), plain.clamp(min=0))
    with pytest.raises(ValueError, match="grad_out"):
        guided_relu_backward(x, g[:3])
    with pytest.raises(ValueError, match="x"):
        guided_relu_backward(x.numpy(), g)


# --- occlusion -------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(
    cnn_cases(max_side=10),
    st.integers(1, 4),
    st.integers(1, 4),
    st.data(),
)
def test_occlusion_matches_captum(case, wh, ww, data):
    model, x, targets = case
    _, c, h, w = x.shape
    wh, ww = min(wh, h), min(ww, w)
    sh = data.draw(st.integers(1, wh))
    sw = data.draw(st.integers(1, ww))
    baseline = data.draw(st.sampled_from([0.0, -0.5, "tensor"]))
    if baseline == "tensor":
        baseline = torch.randn(c, 1, 1, dtype=DT)
    ours = occlusion(model, x, targets, (wh, ww), (sh, sw), baseline, batch_size=7)
    ref = Occlusion(model).attribute(
        x,
        sliding_window_shapes=(c, wh, ww),
        strides=(1, sh, sw),
        target=targets,
        baselines=baseline[None] if isinstance(baseline, torch.Tensor) else baseline,
    )
    assert ours.shape == (len(x), h, w) and ours.dtype == x.dtype
    # captum sums in float64, then returns float32 (``format_result`` calls ``.float()``)
    for ch in range(c):  # the window covers every channel: the same map in each
        torch.testing.assert_close(ours.float(), ref[:, ch], rtol=1e-6, atol=1e-6)


def test_occlusion_by_hand_one_window_per_pixel():
    """Stride = window = 1: each pixel's value is the score drop when that pixel alone is 0."""
    model, x = small_cnn().eval(), torch.randn(1, 2, 7, 8, dtype=DT)
    ours = occlusion(model, x, 1, 1, 1)
    with torch.no_grad():
        s0 = model(x)[0, 1]
        for i, j in [(0, 0), (3, 5), (6, 7)]:
            xc = x.clone()
            xc[0, :, i, j] = 0
            assert ours[0, i, j].item() == pytest.approx((s0 - model(xc)[0, 1]).item(), abs=1e-12)


def test_occlusion_windows_follow_captum_positions():
    masks = explain.occlusion_masks((7, 5), (3, 2), (3, 2))
    # rows: ceil((7 - 3) / 3) + 1 = 3 windows at 0, 3, 6 (the last cut to 1 row);
    # columns: ceil((5 - 2) / 2) + 1 = 3 at 0, 2, 4 (the last cut to 1 column)
    assert masks.shape == (9, 7, 5)
    assert masks[-1].nonzero().tolist() == [[6, 4]]
    assert masks.sum(0).min() >= 1


def test_occlusion_rejects_bad_windows_and_strides():
    model, x = small_cnn().eval(), torch.randn(1, 2, 7, 8, dtype=DT)
    with pytest.raises(ValueError, match="window"):
        occlusion(model, x, 0, (8, 2), 1)
    with pytest.raises(ValueError, match="window"):
        occlusion(model, x, 0, 0, 1)
    with pytest.raises(ValueError, match="stride"):
        occlusion(model, x, 0, 2, 3)
    with pytest.raises(ValueError, match="stride"):
        occlusion(model, x, 0, 2, (1, 2.5))
    with pytest.raises(ValueError, match="baseline"):
        occlusion(model, x, 0, 2, 1, baseline=torch.zeros(5))
    with pytest.raises(ValueError, match="baseline"):
        occlusion(model, x, 0, 2, 1, baseline="grey")
    with pytest.raises(ValueError, match="batch_size"):
        occlusion(model, x, 0, 2, 1, batch_size=0)


# --- Grad-CAM --------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(cnn_cases(), st.data())
def test_grad_cam_matches_captum(case, data):
    model, x, targets = case
    convs = [name for name, m in model.named_children() if isinstance(m, nn.Conv2d | nn.ReLU)]
    name = data.draw(st.sampled_from(convs))
    layer = dict(model.named_children())[name]
    cam = LayerGradCam(model, layer)
    raw = cam.attribute(x, target=targets)  # captum's defaults: no ReLU, layer resolution
    torch.testing.assert_close(
        grad_cam(model, x, targets, name, relu=False, upsample=None), raw[:, 0]
    )
    relu = cam.attribute(x, target=targets, relu_attributions=True)
    torch.testing.assert_close(grad_cam(model, x, targets, layer, upsample=None), relu[:, 0])
    up = LayerAttribution.interpolate(relu, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    ours = grad_cam(model, x, targets, layer)
    assert ours.shape == (len(x), *x.shape[-2:])
    torch.testing.assert_close(ours, up[:, 0])
    assert ours.min() >= 0


def test_grad_cam_is_not_fooled_by_an_in_place_relu():
    x = torch.randn(2, 2, 7, 8, dtype=DT)
    plain, inplace = small_cnn().eval(), small_cnn(inplace=True).eval()
    for layer in ("0", "3"):
        ref = grad_cam(plain, x, [0, 3], layer, relu=False)
        torch.testing.assert_close(grad_cam(inplace, x, [0, 3], layer, relu=False), ref)
    torch.testing.assert_close(
        grad_cam(plain, x, 1, "3", relu=False, upsample=None),
        LayerGradCam(plain, plain[3]).attribute(x, target=1)[:, 0],
    )


def test_grad_cam_checks_its_layer_and_mode():
    model, x = small_cnn().eval(), torch.randn(1, 2, 7, 8, dtype=DT)
    with pytest.raises(ValueError, match="layer"):
        grad_cam(model, x, 0, "7")  # the Linear layer: no map
    with pytest.raises(ValueError, match="layer"):
        grad_cam(model, x, 0, "conv9")
    with pytest.raises(ValueError, match="layer"):
        grad_cam(model, x, 0, nn.Conv2d(1, 1, 1))
    with pytest.raises(ValueError, match="upsample"):
        grad_cam(model, x, 0, "0", upsample="cubic")


# --- feature maps ----------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(cnn_cases(), st.booleans())
def test_feature_maps_match_slicing_the_sequential(case, inplace):
    model, x, _ = case
    if inplace:  # in-place ReLUs overwrite a conv's output: the hook must keep a copy
        for i, m in enumerate(model):
            if isinstance(m, nn.ReLU):
                model[i] = nn.ReLU(inplace=True)
    names = [str(i) for i in range(len(model))]
    maps = feature_maps(model, x, names)
    assert list(maps) == names
    with torch.no_grad():
        for i, name in enumerate(names):
            torch.testing.assert_close(maps[name], model[: i + 1](x.clone()), rtol=0, atol=0)


def test_feature_maps_of_nested_modules_by_name_and_by_module():
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("features", nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(inplace=True)))
    model.add_module("head", nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3)))
    x = torch.randn(2, 1, 6, 6)
    maps = feature_maps(model, x, ["features.0", model.features, "head"])
    assert list(maps) == ["features.0", "features", "head"]
    with torch.no_grad():
        torch.testing.assert_close(maps["features.0"], model.features[0](x))
        torch.testing.assert_close(maps["features"], model.features(x))
        torch.testing.assert_close(maps["head"], model(x))
    everything = feature_maps(model, x)
    assert list(everything) == ["features.0", "features.1", "head.0", "head.1"]
    assert explain.leaf_names(model) == list(everything)


def test_feature_maps_errors():
    model, x = small_cnn(), torch.randn(1, 2, 7, 8, dtype=DT)
    with pytest.raises(ValueError, match="layers"):
        feature_maps(model, x, "conv1")
    with pytest.raises(ValueError, match="layers"):
        feature_maps(model, x, [])
    with pytest.raises(ValueError, match="layers"):
        feature_maps(model, x, 3)
    with pytest.raises(ValueError, match="model"):
        feature_maps(lambda t: t, x, "0")
    with pytest.raises(ValueError, match="x"):
        feature_maps(model, x.numpy(), "0")


# --- the model is left as it was found -------------------------------------------------------
def _state(model: nn.Module):
    return (
        [m.training for m in model.modules()],
        [p.requires_grad for p in model.parameters()],
        [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        [
            sum(len(d) for d in (m._forward_hooks, m._forward_pre_hooks, m._backward_hooks))
            for m in model.modules()
        ],  # fmt: skip
        {k: v.clone() for k, v in model.state_dict().items()},
    )


def _same(a, b) -> bool:
    modes, req, grads, hooks, sd = a
    modes2, req2, grads2, hooks2, sd2 = b
    same_grads = all(
        (g is None and h is None) or (g is not None and h is not None and torch.equal(g, h))
        for g, h in zip(grads, grads2, strict=True)
    )
    same_sd = sd.keys() == sd2.keys() and all(torch.equal(sd[k], sd2[k]) for k in sd)
    return modes == modes2 and req == req2 and same_grads and hooks == hooks2 and same_sd


CALLS = {
    "feature_maps": lambda m, x: feature_maps(m, x, ["0", "3"]),
    "saliency": lambda m, x: saliency(m, x, [0, 1]),
    "occlusion": lambda m, x: occlusion(m, x, [0, 1], 3, 2),
    "grad_cam": lambda m, x: grad_cam(m, x, 1, "3"),
    "guided_backprop": lambda m, x: guided_backprop(m, x, [0, 1]),
    "deconvnet": lambda m, x: guided_backprop(m, x, [0, 1], rule="deconvnet"),
    "activation_maximization": lambda m, x: activation_maximization(
        m, 1, shape=(2, 7, 8), steps=3, jitter=1, blur_sigma=0.5, clip_pct=10
    ),
    "activation_maximization of a channel": lambda m, x: activation_maximization(
        m, 2, layer="3", shape=(2, 7, 8), steps=3
    ),
    "top_patches": lambda m, x: top_patches(m, "3", 1, x, 2),
    "receptive_field": lambda m, x: receptive_field(m, "4", (2, 7, 8)),
}
BAD = {  # each fails its argument check after the model is in use
    "saliency": lambda m, x: saliency(m, x, [0, 9]),
    "occlusion": lambda m, x: occlusion(m, x, 7, 3, 2),
    "grad_cam": lambda m, x: grad_cam(m, x, 1, "7"),
    "guided_backprop": lambda m, x: guided_backprop(m, x, [0, 9]),
    "activation_maximization": lambda m, x: activation_maximization(m, 9, shape=(2, 7, 8), steps=2),
    "top_patches": lambda m, x: top_patches(m, "3", 8, x, 2),
}


def _used_model() -> nn.Module:
    """In training mode (dropout and batch norm would change things), one frozen parameter,
    one parameter with a gradient, one hook of its own."""
    model = small_cnn(dropout=True).train()
    model[1].eval()  # a submodule in another mode than its parent must stay so
    model[0].bias.requires_grad_(False)
    model[3].weight.grad = torch.full_like(model[3].weight, 0.25)
    model[3].register_forward_hook(lambda *args: None)
    return model


@pytest.mark.parametrize("name", list(CALLS))
def test_the_model_is_left_as_found(name):
    model, x = _used_model(), torch.randn(2, 2, 7, 8, dtype=DT)
    before = _state(model)
    CALLS[name](model, x)
    assert _same(before, _state(model)), f"{name} changed the model"
    assert not x.requires_grad and x.grad is None


@pytest.mark.parametrize("name", list(BAD))
def test_the_model_is_left_as_found_after_an_error(name):
    model, x = _used_model(), torch.randn(2, 2, 7, 8, dtype=DT)
    before = _state(model)
    with pytest.raises(ValueError):
        BAD[name](model, x)
    assert _same(before, _state(model)), f"{name} changed the model"


def test_explanations_use_eval_mode():
    """Dropout off and batch norm on running statistics: a train-mode model gives the same
    maps as the same model in eval mode, and twice the same."""
    x = torch.randn(2, 2, 7, 8, dtype=DT)
    model = small_cnn(dropout=True)
    with torch.no_grad():
        model[1].running_mean.uniform_(-1, 1)
    evaluated = {k: f(model.eval(), x) for k, f in CALLS.items() if k != "receptive_field"}
    model.train()
    for k, f in CALLS.items():
        if k == "receptive_field":
            continue
        got, ref = f(model, x), evaluated[k]
        if isinstance(ref, dict):
            for key in ref:
                torch.testing.assert_close(got[key], ref[key])
        elif isinstance(ref, explain.TopPatches):
            torch.testing.assert_close(got.patches, ref.patches)
        else:
            torch.testing.assert_close(got, ref)


def test_inputs_are_validated():
    model, x = small_cnn().eval(), torch.randn(2, 2, 7, 8, dtype=DT)
    for f in (
        saliency,
        lambda m, x, t: occlusion(m, x, t, 2, 1),
        lambda m, x, t: grad_cam(m, x, t, "0"),
        guided_backprop,
    ):
        with pytest.raises(ValueError, match="x"):
            f(model, x[0], 0)  # 3-D
        with pytest.raises(ValueError, match="x"):
            f(model, x.long(), 0)
        with pytest.raises(ValueError, match="target"):
            f(model, x, 4)  # 4 classes: 0..3
        with pytest.raises(ValueError, match="target"):
            f(model, x, [0])  # one per image
        with pytest.raises(ValueError, match="target"):
            f(model, x, 1.0)
        with pytest.raises(ValueError, match="target"):
            f(model, x, True)
        with pytest.raises(ValueError, match="model"):
            f(nn.Sequential(nn.Conv2d(2, 3, 1)).to(DT), x, 0)  # maps, not (N, K) scores
        with pytest.raises(ValueError, match="model"):
            f("model", x, 0)


# --- receptive fields and crops ---------------------------------------------------------------
@st.composite
def chains(draw):
    """A random chain of convs and average pools, float64, positive weights, no biases."""
    c = draw(st.integers(1, 2))
    h, w = draw(st.integers(12, 30)), draw(st.integers(12, 30))
    layers, ch = [], c
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "conv", "pool"]))
        k = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        p = (draw(st.integers(0, min(k[0] // 2, 1))), draw(st.integers(0, min(k[1] // 2, 1))))
        if kind == "conv":
            d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
            layers.append(nn.Conv2d(ch, 2, k, stride=s, padding=p, dilation=d, bias=False))
            ch = 2
            if draw(st.booleans()):
                layers.append(nn.ReLU())
        else:
            layers.append(nn.AvgPool2d(k, stride=s, padding=p))
    model = nn.Sequential(*layers).to(DT)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.uniform_(0.5, 1.0)
        try:
            out = model(torch.zeros(1, c, h, w, dtype=DT))
        except RuntimeError:  # the image shrank away
            out = None
    return model, (c, h, w), out


@settings(max_examples=60, deadline=None)
@given(chains(), st.data())
def test_receptive_field_is_the_gradient_support(case, data):
    """A positive linear chain: unit (i, j) depends on exactly the pixels of its box that lie
    in the image (zero padding contributes nothing); its gradient is non-zero there only."""
    model, shape, out = case
    if out is None or min(out.shape[-2:]) < 1:
        return
    last = str(len(model) - 1)
    field = receptive_field(model, last, shape)
    assert field.map_size == tuple(out.shape[-2:])
    i = data.draw(st.integers(0, out.shape[-2] - 1))
    j = data.draw(st.integers(0, out.shape[-1] - 1))
    x = torch.rand((1, *shape), dtype=DT).add_(0.5).requires_grad_(True)
    model(x)[0, 0, i, j].backward()
    rows = x.grad[0].abs().sum(0).sum(1).nonzero()[:, 0]
    cols = x.grad[0].abs().sum(0).sum(0).nonzero()[:, 0]
    top, left, bottom, right = field.box(i, j)
    _, H, W = shape
    # inside the box; its first and last rows and columns are seen whenever they are in the
    # image (dilation and strides larger than kernels leave holes in between)
    for seen, first, end, size in ((rows, top, bottom, H), (cols, left, right, W)):
        lo, hi = seen.min().item(), seen.max().item() + 1
        assert max(first, 0) <= lo and hi <= min(end, size)
        assert first < 0 or lo == first
        assert end > size or hi == end


@settings(max_examples=40, deadline=None)
@given(chains())
def test_receptive_field_agrees_with_summary(case):
    model, shape, out = case
    if out is None or min(out.shape[-2:]) < 1:
        return
    rows = summary(model, shape, dtype=DT).rows
    for name, row in zip([str(i) for i in range(len(model))], rows, strict=True):
        field = receptive_field(model, name, shape)
        if field.size[0] == field.size[1] and field.jump[0] == field.jump[1]:
            kernels = [m.kernel_size for m in model[: int(name) + 1] if hasattr(m, "kernel_size")]
            if all(isinstance(k, int) or k[0] == k[1] for k in kernels):
                assert (row.rf, row.rf_stride) == (field.size[0], field.jump[0])


def test_receptive_field_of_a_textbook_stack():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 7, padding=3),  # size 7, start -3
        nn.ReLU(),
        nn.MaxPool2d(2),  # size 8, jump 2
        nn.Conv2d(2, 2, 3, padding=1),  # size 12, start -3 - 2 = -5
        nn.MaxPool2d(2),  # size 14, jump 4
        nn.Conv2d(2, 2, 3, padding="same"),  # size 22, start -5 - 4 = -9
        nn.Flatten(),
    )
    f = receptive_field(model, "5", (1, 28, 28))
    assert (f.size, f.jump, f.start, f.map_size) == ((22, 22), (4, 4), (-9, -9), (7, 7))
    assert f.box(0, 0) == (-9, -9, 13, 13) and f.box(6, 2) == (15, -1, 37, 21)
    assert receptive_field(model, "0", (1, 28, 28)).box(5, 5) == (2, 2, 9, 9)
    with pytest.raises(ValueError, match="layer"):
        receptive_field(model, "6", (1, 28, 28))  # flattened: no map
    with pytest.raises(ValueError, match="i, j"):
        f.box(7, 0)
    with pytest.raises(ValueError, match="input_shape"):
        receptive_field(model, "5", (28, 28))


def test_crops_hold_the_right_pixels_and_fill_past_the_border():
    model = nn.Sequential(nn.Conv2d(2, 1, (3, 5), padding=(1, 2)), nn.MaxPool2d(2))
    f = receptive_field(model, "1", (2, 9, 10))
    assert (f.size, f.jump, f.start) == ((4, 6), (2, 2), (-1, -2))
    rows, cols = torch.meshgrid(torch.arange(9.0), torch.arange(10.0), indexing="ij")
    image = torch.stack([rows, cols])  # each pixel holds its own coordinates
    crop = f.crop(image, 0, 4, fill=-1.0)
    top, left, bottom, right = f.box(0, 4)
    assert (top, left, bottom, right) == (-1, 6, 3, 12)
    assert crop.shape == (2, 4, 6)
    assert (crop[:, 0] == -1).all() and (crop[:, :, 4:] == -1).all()  # above and right of it
    assert crop[0, 1:, :4].tolist() == [[r] * 4 for r in (0.0, 1.0, 2.0)]
    assert crop[1, 1:, :4].tolist() == [[6.0, 7.0, 8.0, 9.0]] * 3


def test_receptive_field_refuses_branches():
    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(1, 1, 3, padding=1)
            self.b = nn.Conv2d(1, 1, 1, stride=2)

        def forward(self, x):
            return self.a(x)[..., ::2, ::2] + self.b(x)

    with pytest.raises(ValueError, match="chain"):
        receptive_field(Residual(), "b", (1, 8, 8))


# --- top patches -----------------------------------------------------------------------------
def test_top_patches_against_brute_force():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 3, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3)
    ).to(DT)
    images = torch.randn(20, 1, 12, 14, dtype=DT)
    with torch.no_grad():
        maps = model(images)[:, 2]  # (20, 4, 5) of channel 2
    best = maps.flatten(1).max(1)
    order = best.values.argsort(descending=True)[:5]
    res = top_patches(model, "3", 2, images, 5, batch_size=6)
    assert res.image_index.tolist() == order.tolist()
    torch.testing.assert_close(res.activations, best.values[order])
    f = res.field
    assert (f.size, f.jump, f.start) == ((10, 10), (2, 2), (-2, -2))
    for n, (i, j), patch, box in zip(order, res.positions, res.patches, res.boxes, strict=True):
        assert maps[n, i, j] == best.values[n]
        torch.testing.assert_close(patch, f.crop(images[n], int(i), int(j)))
        assert tuple(box.tolist()) == f.box(int(i), int(j))
    assert res.patches.shape == (5, 1, 10, 10)


def test_top_patches_errors():
    model, x = small_cnn().eval(), torch.randn(3, 2, 7, 8, dtype=DT)
    with pytest.raises(ValueError, match="k"):
        top_patches(model, "3", 0, x, 4)
    with pytest.raises(ValueError, match="k"):
        top_patches(model, "3", 0, x, 0)
    with pytest.raises(ValueError, match="channel"):
        top_patches(model, "3", 4, x, 1)
    with pytest.raises(ValueError, match="images"):
        top_patches(model, "3", 0, x[0], 1)
    with pytest.raises(ValueError, match="layer"):
        top_patches(model, "7", 0, x, 1)


# --- activation maximisation -----------------------------------------------------------------
def _am_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 9, 3)
    )


def test_activation_maximization_raises_the_unit():
    model = _am_model()
    start = activation_maximization(model, 2, shape=(1, 8, 9), steps=1, lr=0.0)
    x = activation_maximization(model, 2, shape=(1, 8, 9), steps=50, lr=0.05)
    with torch.no_grad():
        assert model(x[None])[0, 2] > model(start[None])[0, 2] + 1.0
    assert x.shape == (1, 8, 9)
    channel = activation_maximization(model, 3, layer="0", shape=(1, 8, 9), steps=30, lr=0.05)
    (before,) = feature_maps(model, start[None], "0").values()
    (after,) = feature_maps(model, channel[None], "0").values()
    assert after[0, 3, 4, 4] > before[0, 3, 4, 4] + 0.5  # the centre unit of the 8 x 9 map


def test_activation_maximization_of_a_channel_changes_its_receptive_field_only():
    """A conv's centre unit depends on its 3 x 3 window only: the gradient, and so the input
    outside that window, stays as it started (no regulariser is on)."""
    model = _am_model()
    start = activation_maximization(model, 1, layer="0", shape=(1, 8, 9), steps=1, lr=0.0)
    x = activation_maximization(model, 1, layer="0", shape=(1, 8, 9), steps=10, lr=0.05)
    changed = (x != start)[0]
    assert changed[3:6, 3:6].all() and changed.sum() == 9
    w = model[0].weight[1, 0].detach()
    assert torch.equal(torch.sign(x - start)[0, 3:6, 3:6], torch.sign(w))


def test_activation_maximization_one_step_by_hand():
    """One step of each regulariser, against the rule written out with torch and scipy."""
    model = _am_model()
    lr, std = 0.3, 0.2
    x0 = (std * torch.randn((1, 8, 9), generator=torch.Generator().manual_seed(5)))[None]
    xg = x0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xg)[0, 1], xg)
    stepped = x0 + lr * g / g.abs().mean()

    def run(**kw):
        return activation_maximization(
            model, 1, shape=(1, 8, 9), steps=1, lr=lr, init_std=std, seed=5, **kw
        )[None]

    torch.testing.assert_close(run(), stepped)
    torch.testing.assert_close(run(l2_decay=0.1), 0.9 * stepped)
    blurred = ndimage.gaussian_filter(stepped[0, 0].numpy(), 1.0, mode="mirror", truncate=3.0)
    torch.testing.assert_close(run(blur_sigma=1.0)[0, 0], torch.from_numpy(blurred))
    clipped = run(clip_pct=25.0)
    kept = stepped.abs() >= torch.quantile(stepped.abs(), 0.25)
    torch.testing.assert_close(clipped, torch.where(kept, stepped, 0.0))
    assert (clipped == 0).float().mean() == pytest.approx(0.25, abs=1 / 72)
    torch.testing.assert_close(run(value_range=(-0.1, 0.2)), stepped.clamp(-0.1, 0.2))


def test_activation_maximization_jitter_takes_the_gradient_at_a_shifted_input():
    model = _am_model()
    x = activation_maximization(model, 0, shape=(1, 8, 9), steps=1, jitter=2, seed=3)
    gen = torch.Generator().manual_seed(3)
    x0 = (0.1 * torch.randn((1, 8, 9), generator=gen))[None]
    dy, dx = torch.randint(-2, 3, (2,), generator=gen).tolist()
    xs = torch.roll(x0, (dy, dx), (2, 3)).requires_grad_(True)
    (g,) = torch.autograd.grad(model(xs)[0, 0], xs)
    g = torch.roll(g, (-dy, -dx), (2, 3))
    torch.testing.assert_close(x[None], x0 + 0.1 * g / g.abs().mean())


def test_activation_maximization_is_seeded_and_each_regulariser_matters():
    model = _am_model()
    kw = dict(shape=(1, 8, 9), steps=20)
    base = activation_maximization(model, 1, **kw)
    torch.testing.assert_close(base, activation_maximization(model, 1, **kw))
    assert not torch.equal(base, activation_maximization(model, 1, seed=1, **kw))
    for reg in (
        dict(l2_decay=0.05),
        dict(blur_sigma=0.7),
        dict(jitter=1),
        dict(clip_pct=20.0),
        dict(value_range=(-0.5, 0.5)),
    ):
        assert not torch.allclose(base, activation_maximization(model, 1, **kw, **reg)), reg


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(unit=3), "unit"),
        (dict(unit=1.5), "unit"),
        (dict(unit=0, layer="1", shape=(1, 8, 9)), None),
        (dict(unit=4, layer="1"), "unit"),
        (dict(unit=0, layer="conv"), "layer"),
        (dict(unit=0, shape=(8, 9)), "shape"),
        (dict(unit=0, steps=0), "steps"),
        (dict(unit=0, lr=-1.0), "lr"),
        (dict(unit=0, l2_decay=1.0), "l2_decay"),
        (dict(unit=0, blur_sigma=-0.5), "blur_sigma"),
        (dict(unit=0, blur_every=0), "blur_every"),
        (dict(unit=0, jitter=-1), "jitter"),
        (dict(unit=0, jitter=1.5), "jitter"),
        (dict(unit=0, clip_pct=100.0), "clip_pct"),
        (dict(unit=0, value_range=(1.0, 0.0)), "value_range"),
        (dict(unit=0, init_std=float("nan")), "init_std"),
        (dict(unit=0, objective="softmax"), "objective"),
        (dict(unit=0, layer="0", objective="log_prob"), "objective"),
    ],
)
def test_activation_maximization_arguments(kw, name):
    model = _am_model()
    kw = {"shape": (1, 8, 9), "steps": 2, **kw}
    if name is None:
        activation_maximization(model, **kw)
        return
    with pytest.raises(ValueError, match=name):
        activation_maximization(model, **kw)


def test_activation_maximization_log_prob_climbs_log_softmax():
    """One step of objective="log_prob" follows the gradient of log softmax, and the ascent
    makes the class near-certain (Nguyen et al.'s fooling images)."""
    model = _am_model()
    x0 = (0.1 * torch.randn((1, 8, 9), generator=torch.Generator().manual_seed(0)))[None]
    xg = x0.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch.log_softmax(model(xg), 1)[0, 2], xg)
    one = activation_maximization(model, 2, shape=(1, 8, 9), steps=1, objective="log_prob")
    torch.testing.assert_close(one[None], x0 + 0.1 * g / g.abs().mean())
    x = activation_maximization(model, 2, shape=(1, 8, 9), steps=100, objective="log_prob")
    with torch.no_grad():
        assert model(x[None]).softmax(1)[0, 2] > 0.99


@pytest.mark.parametrize("sigma", [1.0, 2.0, 0.5])
def test_gaussian_blur_matches_scipy(sigma):
    x = torch.randn(2, 3, 21, 17, dtype=DT)
    ours = gaussian_blur(x, sigma)
    # torchvision: radius ceil(3 sigma), reflect padding (d c b | a b c d) = scipy's "mirror"
    radius = math.ceil(3 * sigma)
    ref = ndimage.gaussian_filter(x.numpy(), (0, 0, sigma, sigma), mode="mirror", radius=radius)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-6, atol=1e-7)


def test_small_helpers_check_their_arguments():
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur(torch.zeros(1, 5, 5), 0.0)
    with pytest.raises(ValueError, match="x"):
        gaussian_blur(torch.zeros(5, 5), 1.0)
    with pytest.raises(ValueError, match="model"):
        explain.leaf_names("model")
    with pytest.raises(ValueError, match="window"):
        explain.occlusion_masks((4, 5), 6, 1)
    with pytest.raises(ValueError, match="size"):
        explain.occlusion_masks(4.5, 2, 1)


# --- learned filters against a Gabor bank ------------------------------------------------------
def test_gabor_bank_layout_and_perfect_matches():
    bank, params = gabor_bank(7, orientations=4, wavelengths=(3.0, 6.0), phases=4)
    assert bank.shape == (32, 7, 7) and len(params) == 32
    assert params[5] == {"theta": 45.0, "wavelength": 3.0, "sigma": 1.5, "psi": 90.0}
    np.testing.assert_allclose(bank[5], gabor_kernel(7, np.pi / 4, 3.0, 1.5, psi=np.pi / 2))
    filters = 3.0 * bank[[5, 20]] + 0.7  # contrast and brightness do not matter
    index, r = gabor_match(filters, bank)
    assert index.tolist() == [5, 20] and np.allclose(r, 1.0)
    index, r = gabor_match(-bank[[5]], bank)  # a sign flip is the phase + 180 degrees
    assert params[index[0]]["psi"] == 270.0 and params[index[0]]["theta"] == 45.0
    assert r[0] == pytest.approx(1.0)


def test_correlations_are_pearsons_r():
    rng = np.random.default_rng(0)
    f, b = rng.standard_normal((3, 1, 5, 5)), rng.standard_normal((4, 5, 5))
    r = correlations(f, b)
    ref = np.corrcoef(f.reshape(3, -1), b.reshape(4, -1))[:3, 3:]
    np.testing.assert_allclose(r, ref)
    idx, best = gabor_match(f, b)
    np.testing.assert_array_equal(idx, ref.argmax(1))
    np.testing.assert_allclose(best, ref.max(1))
    with pytest.raises(ValueError, match="bank"):
        correlations(f, rng.standard_normal((4, 3, 3)))
    with pytest.raises(ValueError, match="filters"):
        correlations(np.ones((2, 5, 5)), b)
    with pytest.raises(ValueError, match="filters"):
        correlations(f[:, 0, 0], b)
    with pytest.raises(ValueError, match="orientations"):
        gabor_bank(7, orientations=0)


def test_phase_scrambled_keeps_the_amplitude_spectrum_only():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((4, 1, 7, 7))
    s = phase_scrambled(f, seed=3)
    assert s.shape == (4, 7, 7) and s.dtype == np.float64
    np.testing.assert_allclose(np.abs(np.fft.fft2(s)), np.abs(np.fft.fft2(f[:, 0])), atol=1e-9)
    assert np.abs(correlations(s, f[:, 0]).diagonal()).max() < 0.9  # not the same pattern
    np.testing.assert_array_equal(s, phase_scrambled(f, seed=3))
    assert not np.allclose(s, phase_scrambled(f, seed=4))
    with pytest.raises(ValueError, match="filters"):
        phase_scrambled(np.zeros((7, 7)))


def test_roughness_of_noise_smooth_and_flat_images():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(3, 200, 300, generator=g, dtype=DT)
    assert roughness(noise).shape == (3,)
    torch.testing.assert_close(
        roughness(noise), torch.full((3,), 2 / math.sqrt(math.pi), dtype=DT), atol=0.01, rtol=0
    )
    ramp = torch.arange(50.0).repeat(40, 1)  # every step across is 1, every step down 0
    across, down = 40 * 49, 39 * 50
    assert roughness(ramp).item() == pytest.approx(across / (across + down) / ramp.std().item())
    assert roughness(torch.ones(5, 5)).item() == 0.0
    assert roughness(gaussian_blur(noise[:1, None], 2.0)[:, 0]) < 0.3 * roughness(noise[:1])
    with pytest.raises(ValueError, match="x"):
        roughness(torch.ones(5))
