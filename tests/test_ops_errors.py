"""Bad input raises ValueError whose message names the argument, the expectation and what came."""

import numpy as np
import pytest

import coursecnn.ops as ops

X = np.zeros((2, 4, 6, 6))
W = np.zeros((8, 4, 3, 3))

CASES = [
    # wrong number of dimensions
    (
        lambda: ops.conv2d(np.zeros((3, 5)), W),
        r"x: expected a 4-D array \(N, C, H, W\), got shape \(3, 5\)",
    ),
    (
        lambda: ops.conv2d(X, np.zeros((8, 4, 3))),
        r"w: expected a 4-D array .* got shape \(8, 4, 3\)",
    ),
    (
        lambda: ops.max_pool2d(np.zeros((4, 6, 6)), 2),
        r"x: expected a 4-D array .* got shape \(4, 6, 6\)",
    ),
    (lambda: ops.correlate2d(np.zeros((2, 2, 2)), np.ones((2, 2))), r"in1: expected a 2-D array"),
    (lambda: ops.linear(X, np.zeros(6)), r"w: expected a 2-D array"),
    # channel mismatch
    (
        lambda: ops.conv2d(X, np.zeros((8, 3, 3, 3))),
        r"w: expected 4 input channels .* got shape \(8, 3, 3, 3\)",
    ),
    (
        lambda: ops.conv2d(X, np.zeros((8, 4, 3, 3)), b=np.zeros(7)),
        r"b: expected shape \(8,\), got shape \(7,\)",
    ),
    (
        lambda: ops.conv_transpose2d(X, np.zeros((3, 2, 3, 3))),
        r"w: expected 4 input channels .* got shape",
    ),
    (
        lambda: ops.linear(np.zeros((2, 5)), np.zeros((3, 4))),
        r"w: expected 5 in_features .* got shape \(3, 4\)",
    ),
    (
        lambda: ops.prelu(X, np.ones(3)),
        r"weight: expected shape \(1,\) or \(4,\) .* got shape \(3,\)",
    ),
    (
        lambda: ops.batch_norm2d(X, np.ones(3), np.ones(4)),
        r"gamma: expected shape \(4,\), got shape \(3,\)",
    ),
    # kernel larger than the padded input
    (
        lambda: ops.conv2d(np.zeros((1, 4, 2, 6)), W),
        r"kernel_size: expected a kernel .* no larger than the padded input .* along H",
    ),
    (
        lambda: ops.conv2d(X, W, dilation=3),
        r"kernel_size: .*dilated size 7.* got kernel 3, dilation 3",
    ),
    (
        lambda: ops.max_pool2d(np.zeros((1, 1, 1, 1)), 4, padding=1),
        r"kernel_size: expected a kernel .* no larger than the padded input \(1 \+ 2\*1 = 3\)",
    ),
    (
        lambda: ops.conv_matrix(np.ones((4, 4)), (3, 5)),
        r"kernel: expected a non-empty kernel no larger than input_shape",
    ),
    # stride or kernel of 0 or less
    (lambda: ops.conv2d(X, W, stride=0), r"stride: expected positive values .* got 0"),
    (
        lambda: ops.conv2d(X, W, stride=(1, -2)),
        r"stride: expected positive values .* got \(1, -2\)",
    ),
    (lambda: ops.max_pool2d(X, 0), r"kernel_size: expected positive values .* got 0"),
    (lambda: ops.avg_pool2d(X, 2, stride=-1), r"stride: expected positive values .* got -1"),
    (lambda: ops.conv_output_size(10, 0), r"kernel_size: expected positive values"),
    (lambda: ops.conv2d(X, np.zeros((8, 4, 0, 3))), r"kernel_size: expected positive values"),
    (lambda: ops.conv2d(X, W, dilation=0), r"dilation: expected positive values"),
    # negative padding
    (lambda: ops.conv2d(X, W, padding=-1), r"padding: expected non-negative values .* got -1"),
    (lambda: ops.max_pool2d(X, 2, padding=(0, -1)), r"padding: expected non-negative values"),
    (lambda: ops.pad2d(X, (1, -1)), r"padding: expected non-negative values"),
    # pooling padding above half the kernel
    (
        lambda: ops.max_pool2d(X, 3, padding=2),
        r"padding: expected at most half the kernel size .* got \(2, 2\)",
    ),
    (
        lambda: ops.avg_pool2d(X, (4, 2), padding=(1, 2)),
        r"padding: expected at most half the kernel size",
    ),
    # groups that do not divide the channels
    (
        lambda: ops.conv2d(X, np.zeros((8, 1, 3, 3)), groups=3),
        r"groups: expected a divisor of the 4 input channels, got 3",
    ),
    (
        lambda: ops.conv2d(X, np.zeros((6, 1, 3, 3)), groups=4),
        r"groups: expected a divisor of the 6 filters",
    ),
    (lambda: ops.conv2d(X, W, groups=0), r"groups: expected a positive int, got 0"),
    (lambda: ops.maxout(X, 3), r"pieces: expected a divisor of the 4 channels of x, got 3"),
    # non-float dtypes where floats are needed
    (
        lambda: ops.conv2d(X.astype(int), W),
        r"x: expected a float32 or float64 array, got dtype int64",
    ),
    (
        lambda: ops.conv2d(X, W.astype(np.int32)),
        r"w: expected a float32 or float64 array, got dtype int32",
    ),
    (
        lambda: ops.max_pool2d(X.astype(np.uint8), 2),
        r"x: expected a float32 or float64 array, got dtype uint8",
    ),
    (lambda: ops.relu(np.arange(3)), r"x: expected a float32 or float64 array, got dtype int64"),
    (
        lambda: ops.softmax(np.array([True, False])),
        r"x: expected a float32 or float64 array, got dtype bool",
    ),
    (
        lambda: ops.batch_norm2d(X.astype(np.float16), None, None),
        r"x: expected a float32 or float64 array, got dtype float16",
    ),
    (
        lambda: ops.correlate2d(np.ones((3, 3), dtype=complex), np.ones((2, 2))),
        r"in1: expected a real .* got dtype complex128",
    ),
    # other arguments
    (
        lambda: ops.conv2d(X, W, method="slow"),
        r"method: expected one of \('fast', 'naive'\), got 'slow'",
    ),
    (
        lambda: ops.conv2d(X, W, stride=(1, 2, 3)),
        r"stride: expected an int or a pair of ints, got \(1, 2, 3\)",
    ),
    (lambda: ops.conv2d(X, W, padding=1.5), r"padding: expected an int or a pair of ints, got 1.5"),
    (
        lambda: ops.conv2d_backward(np.zeros((2, 8, 5, 5)), X, W),
        r"grad_out: expected shape \(2, 8, 4, 4\), got shape \(2, 8, 5, 5\)",
    ),
    (
        lambda: ops.conv_transpose2d(X, np.zeros((4, 2, 3, 3)), stride=2, output_padding=2),
        r"output_padding: expected less than stride or dilation \(2\)",
    ),
    (
        lambda: ops.correlate2d(np.ones((3, 3)), np.ones((2, 2)), mode="circular"),
        r"mode: expected one of",
    ),
    (
        lambda: ops.correlate2d(np.ones((2, 4)), np.ones((4, 2)), mode="valid"),
        r"in2: expected, for mode 'valid', one array at least as large",
    ),
    (
        lambda: ops.pad2d(X, 6, "reflect"),
        r"padding: expected, for mode 'reflect', less than the input size \(6, 6\)",
    ),
    (lambda: ops.pad2d(X, 1, "circular"), r"mode: expected one of"),
    (lambda: ops.softmax(np.ones((2, 3)), axis=2), r"axis: expected an int in \[-2, 1\], got 2"),
    (lambda: ops.dropout(X, p=1.5), r"p: expected a probability in \[0, 1\], got 1.5"),
    (lambda: ops.local_response_norm(X, size=0), r"size: expected a positive int"),
    (
        lambda: ops.batch_norm2d(X, None, None, training=False),
        r"running_mean: expected arrays of shape \(C,\) in eval mode, got None",
    ),
    (
        lambda: ops.batch_norm2d(np.zeros((1, 2, 1, 1)), None, None),
        r"x: expected more than 1 value per channel",
    ),
    (
        lambda: ops.max_unpool2d(X, np.zeros(X.shape), 2),
        r"indices: expected an integer array, got dtype float64",
    ),
    (
        lambda: ops.max_unpool2d(X, np.full(X.shape, 200), 2),
        r"indices: expected values in \[0, 144\) for an output of size \(12, 12\)",
    ),
    (
        lambda: ops.max_unpool2d(X, np.zeros(X.shape, int), 2, output_size=(20, 12)),
        r"output_size: expected sizes strictly between",
    ),
]


@pytest.mark.parametrize(
    "call, message", CASES, ids=[f"{i}-{m.split(':')[0]}" for i, (_, m) in enumerate(CASES)]
)
def test_bad_input_raises_a_value_error_naming_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("method", ["naive", "fast"])
def test_backward_functions_check_their_inputs_too(method):
    with pytest.raises(ValueError, match="x: expected a 4-D array"):
        ops.conv2d_backward(np.zeros((1, 8, 4, 4)), np.zeros((4, 6, 6)), W, method=method)
    with pytest.raises(ValueError, match="padding: expected at most half"):
        ops.max_pool2d_backward(np.zeros((2, 4, 3, 3)), X, 2, padding=2, method=method)
    with pytest.raises(ValueError, match="grad_out: expected shape"):
        ops.avg_pool2d_backward(np.zeros((2, 4, 2, 2)), X, 2, method=method)
