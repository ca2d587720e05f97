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
``dogs_vs_cats``                   the seed's Keras model (``dogs_vs_cats``)
``conv_autoencoder``               convolutional autoencoder (``autoencoder``)
``text_cnn``, ``char_cnn``         CNNs on word and character ids (``text``)
``summary(model, input_size)``     per-layer shapes, parameters, MACs, receptive fields
``init_weights(model, act)``       He (ReLU) or Glorot (tanh) weights (``initialization``)
=================================  ==========================================================
"""

from ._util import count_params
from .alexnet import alexnet
from .autoencoder import ConvAutoencoder, conv_autoencoder
from .dogs_vs_cats import dogs_vs_cats
from .googlenet import Inception, googlenet
from .initialization import init_weights
from .lenet import Subsampling, TableConv2d, lenet1, lenet5
from .mlp import mlp
from .nin import mlpconv, nin
from .resnet import BasicBlock, Bottleneck, SharedResNet, resnet, shared_resnet
from .summary import LayerRow, ModelSummary, summary
from .text import TextCNN, char_cnn, text_cnn
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
    "SharedResNet",
    "Subsampling",
    "TableConv2d",
    "TextCNN",
    "alexnet",
    "char_cnn",
    "conv_autoencoder",
    "count_params",
    "dogs_vs_cats",
    "googlenet",
    "init_weights",
    "lenet1",
    "lenet5",
    "make_layers",
    "mlp",
    "mlpconv",
    "nin",
    "resnet",
    "shared_resnet",
    "summary",
    "text_cnn",
    "vgg",
]
