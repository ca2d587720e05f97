"""The model zoo: each architecture faithful to its paper by default, course-size by keyword.

=================================  ==========================================================
constructor                        family (module)
=================================  ==========================================================
``mlp``                            fully connected baseline (``mlp``)
``lenet1``, ``lenet5``             LeNet (``lenet``)
``alexnet``                        AlexNet: paper, seed, torchvision variants (``alexnet``)
``vgg(config)``                    VGG A, A-LRN, B, C, D, E from ``CONFIGS`` (``vgg``)
``nin``                            Network in Network (``nin``)
``googlenet(naive=False)``         GoogLeNet and the ``Inception`` module (``googlenet``)
``resnet(depth)``                  ResNet 18-152, plain twin, PReLU (``resnet``)
``shared_resnet``                  one residual block shared across depth (``resnet``)
``cifar_resnet(depth)``            the paper's CIFAR nets, depth 6n+2, plain twin (``resnet``)
``PreActBlock``                    pre-activation block; ``zero_init_residual`` (``resnet``)
``dogs_vs_cats``                   the seed's Keras model (``dogs_vs_cats``)
``conv_autoencoder``               convolutional autoencoder (``autoencoder``)
``segnet``                         encoder-decoder for per-pixel labels, unpooling (``segnet``)
``unet``                           encoder-decoder with concatenated skip connections (``unet``)
``ResizeConv2d``                   resize-then-convolve; ``checkerboard_score`` (``upsampling``)
``text_cnn``, ``char_cnn``         CNNs on word and character ids (``text``); ``top_ngrams``
``NgramLogisticRegression``        the bag-of-n-grams baseline for text (``ngrams``)
``he_init(model, mode)``           He et al. (2015) initialisation of every conv (``initialization``)
``summary(model, input_size)``     per-layer shapes, parameters, MACs, receptive fields
``init_weights(model, act)``       He (ReLU) or Glorot (tanh) weights (``initialization``)
=================================  ==========================================================
"""

from ._util import count_params
from .alexnet import alexnet
from .autoencoder import ConvAutoencoder, conv_autoencoder
from .dogs_vs_cats import dogs_vs_cats
from .googlenet import Inception, googlenet
from .initialization import he_init, init_weights
from .lenet import Subsampling, TableConv2d, lenet1, lenet5
from .mlp import mlp
from .ngrams import NgramLogisticRegression, ngrams
from .nin import mlpconv, nin
from .resnet import (
    BasicBlock,
    Bottleneck,
    PadShortcut,
    PreActBlock,
    SharedResNet,
    cifar_resnet,
    resnet,
    shared_resnet,
    zero_init_residual,
)
from .segnet import SegNet, segnet
from .summary import LayerRow, ModelSummary, summary
from .text import TextCNN, char_cnn, text_cnn, top_ngrams
from .unet import UNet, unet
from .upsampling import ResizeConv2d, checkerboard_score
from .vgg import CONFIGS as VGG_CONFIGS
from .vgg import make_layers, vgg

__all__ = [
    "VGG_CONFIGS",
    "BasicBlock",
    "Bottleneck",
    "ConvAutoencoder",
    "Inception",
    "LayerRow",
    "ModelSummary",
    "PadShortcut",
    "PreActBlock",
    "ResizeConv2d",
    "SegNet",
    "SharedResNet",
    "Subsampling",
    "TableConv2d",
    "NgramLogisticRegression",
    "TextCNN",
    "UNet",
    "alexnet",
    "char_cnn",
    "checkerboard_score",
    "cifar_resnet",
    "conv_autoencoder",
    "count_params",
    "dogs_vs_cats",
    "googlenet",
    "he_init",
    "init_weights",
    "lenet1",
    "lenet5",
    "make_layers",
    "mlp",
    "mlpconv",
    "ngrams",
    "nin",
    "resnet",
    "segnet",
    "shared_resnet",
    "summary",
    "text_cnn",
    "top_ngrams",
    "unet",
    "vgg",
    "zero_init_residual",
]
