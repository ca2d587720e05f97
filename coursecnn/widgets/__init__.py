"""ipywidgets explorers used in the notebooks, one call each, and the kernels they show.

    kernel_lab(image=None)         edit a 3x3 / 5x5 kernel, presets, conv/corr, padding, stride
    gabor_explorer(image=None)     orientation, wavelength, sigma, aspect, phase of a Gabor kernel
    pooling_explorer(x=None)       max / avg pooling, kernel, stride, shift the input
    activation_explorer()          activation function, its parameter, its derivative
    augmentation_explorer()        rotation, shift, scale, exposure, contrast by transforms.v2
    feature_map_explorer(model, images)
                                   a CNN's feature maps: image, layer, channel, receptive field

Each returns an explorer object that displays as its widget (``.widget``) when it is a cell's
last expression; its controls and the state its callback computed are attributes, so tests set
``.value`` on a control and read the state. ``KERNELS`` (seed 003's table) and
``gabor_kernel`` live in ``coursecnn.widgets.kernels``.
"""

from coursecnn.widgets.activation import ActivationExplorer, activation_explorer
from coursecnn.widgets.augmentation import AugmentationExplorer, augmentation_explorer
from coursecnn.widgets.feature_maps import FeatureMapExplorer, feature_map_explorer
from coursecnn.widgets.gabor import GaborExplorer, gabor_explorer
from coursecnn.widgets.kernel_lab import KernelLab, kernel_lab
from coursecnn.widgets.kernels import KERNELS, gabor_kernel
from coursecnn.widgets.pooling import PoolingExplorer, pooling_explorer

__all__ = [
    "KERNELS",
    "ActivationExplorer",
    "AugmentationExplorer",
    "FeatureMapExplorer",
    "GaborExplorer",
    "KernelLab",
    "PoolingExplorer",
    "activation_explorer",
    "augmentation_explorer",
    "feature_map_explorer",
    "gabor_explorer",
    "gabor_kernel",
    "kernel_lab",
    "pooling_explorer",
]
