"""NumPy reference ops of the course, each twice where it matters: a naive version with loops
that reads like its formula, and a fast vectorised one (im2col or strided slices plus one matrix
product). Conv and pooling ops take ``method="fast"`` (default) or ``method="naive"``.

Semantics are those of ``torch.nn.functional`` unless a docstring says otherwise; ``x`` is
(N, C, H, W) and results keep x's float dtype (float32 or float64). Every ``f`` has an
``f_backward(grad_out, x, ...)`` returning the gradients, and ``gradcheck`` checks any of them
(or a student's own) against centred finite differences.
"""

from .activations import (
    elu,
    elu_backward,
    leaky_relu,
    leaky_relu_backward,
    maxout,
    maxout_backward,
    prelu,
    prelu_backward,
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
    tanh,
    tanh_backward,
)
from .conv import conv2d, conv2d_backward
from .conv_matrix import conv_matrix
from .conv_transpose import conv_transpose2d, conv_transpose2d_backward
from .correlate import convolve2d, correlate2d
from .dropout import dropout, dropout_backward
from .gradcheck import gradcheck, numerical_gradient, relative_error
from .im2col import col2im, im2col
from .linear import linear, linear_backward
from .normalization import (
    batch_norm2d,
    batch_norm2d_backward,
    local_response_norm,
    local_response_norm_backward,
)
from .padding import pad2d, pad2d_backward
from .pooling import (
    avg_pool2d,
    avg_pool2d_backward,
    max_pool2d,
    max_pool2d_backward,
    max_unpool2d,
    max_unpool2d_backward,
)
from .shapes import conv_output_size
from .softmax import (
    cross_entropy,
    cross_entropy_backward,
    log_softmax,
    log_softmax_backward,
    softmax,
    softmax_backward,
)

__all__ = [
    "avg_pool2d",
    "avg_pool2d_backward",
    "batch_norm2d",
    "batch_norm2d_backward",
    "col2im",
    "conv2d",
    "conv2d_backward",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose2d",
    "conv_transpose2d_backward",
    "convolve2d",
    "correlate2d",
    "cross_entropy",
    "cross_entropy_backward",
    "dropout",
    "dropout_backward",
    "elu",
    "elu_backward",
    "gradcheck",
    "im2col",
    "leaky_relu",
    "leaky_relu_backward",
    "linear",
    "linear_backward",
    "local_response_norm",
    "local_response_norm_backward",
    "log_softmax",
    "log_softmax_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "max_unpool2d",
    "max_unpool2d_backward",
    "maxout",
    "maxout_backward",
    "numerical_gradient",
    "pad2d",
    "pad2d_backward",
    "prelu",
    "prelu_backward",
    "relative_error",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "softmax",
    "softmax_backward",
    "tanh",
    "tanh_backward",
]
