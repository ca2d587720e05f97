"""What a trained CNN has learned, and what its decisions rest on: one technique a module.

    feature_maps(model, x, layers)            {layer name: activations}, by forward hooks
    saliency(model, x, target)                |d score / d x| (Simonyan et al. 2014)
    occlusion(model, x, target, window, stride, baseline=0.0)
                                              mean score drop when a window covers a pixel
                                              (Zeiler & Fergus 2013)
    grad_cam(model, x, target, layer)         class activation map (Selvaraju et al. 2017)
    guided_backprop(model, x, target, rule=...) the gradient with each ReLU's backward changed:
                                              guided backprop (Springenberg et al. 2015) or the
                                              deconvnet (Zeiler & Fergus 2013);
                                              guided_relu_backward is guided backprop's rule
    activation_maximization(model, unit, ...) an input that maximises a class (its logit, or its
                                              log-probability: fooling images) or a channel, with
                                              switchable regularisers (Yosinski et al. 2015);
                                              roughness measures how speckled the result is
    top_patches(model, layer, channel, images, k)
                                              the k receptive-field patches that excite a unit
                                              most (Zeiler & Fergus 2013, Fig. 2)
    receptive_field(model, layer, input_shape) which input pixels each unit sees
    gabor_bank, gabor_match, correlations,    learned filters against a Gabor bank, and
    phase_scrambled                           surrogates of the same smoothness

Every function validates its arguments (``ValueError`` naming the argument) and leaves the
model as it found it: each module's training mode, each parameter's ``requires_grad`` and
``.grad``, and no hook left behind. ``saliency``, ``occlusion``, ``grad_cam`` and
``guided_backprop`` agree with captum's ``Saliency``, ``Occlusion``, ``LayerGradCam``,
``GuidedBackprop`` and ``Deconvolution`` (``tests/test_explain.py``).
"""

from coursecnn.explain.activation_maximization import (
    activation_maximization,
    gaussian_blur,
    roughness,
)
from coursecnn.explain.feature_maps import feature_maps, leaf_names
from coursecnn.explain.gabor_match import correlations, gabor_bank, gabor_match, phase_scrambled
from coursecnn.explain.grad_cam import grad_cam
from coursecnn.explain.guided_backprop import guided_backprop, guided_relu_backward
from coursecnn.explain.occlusion import occlusion, occlusion_masks
from coursecnn.explain.receptive_field import ReceptiveField, receptive_field
from coursecnn.explain.saliency import saliency
from coursecnn.explain.top_patches import TopPatches, top_patches

__all__ = [
    "ReceptiveField",
    "TopPatches",
    "activation_maximization",
    "correlations",
    "feature_maps",
    "gabor_bank",
    "gabor_match",
    "gaussian_blur",
    "grad_cam",
    "guided_backprop",
    "guided_relu_backward",
    "leaf_names",
    "occlusion",
    "occlusion_masks",
    "phase_scrambled",
    "receptive_field",
    "roughness",
    "saliency",
    "top_patches",
]
