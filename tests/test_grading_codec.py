"""The channel's data-only serialisation: what crosses comes back equal; what is not data does not
cross (no kernel needed)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from coursecnn.grading import codec


def roundtrip(value, **kwargs):
    header, blobs = codec.encode(value, **kwargs)
    frame = codec.pack(header, blobs)
    head, got = codec.read_frame(io.BytesIO(frame))
    objects = kwargs.get("objects", codec.OBJECT_MODULES)
    return codec.Decoder(got, objects=objects, refs=codec.GRADER_REFS)(head)


def test_plain_values_arrays_and_tensors() -> None:
    value = {
        "a": np.arange(6, dtype=np.int32).reshape(2, 3),
        "t": torch.randn(2, 3, dtype=torch.float64),
        "s": np.float32(1.5),
        "nested": [1, 2.5, "x", None, True, (1, (2, 3))],
        (1, 2): {1, 2},
        "big": 2**70,
        "nan": float("nan"),
        "size": torch.Size([2, 3]),
        "dtype": torch.float16,
    }
    got = roundtrip(value)
    assert got["a"].dtype == np.int32 and np.array_equal(got["a"], value["a"])
    assert torch.equal(got["t"], value["t"]) and got["t"].dtype == torch.float64
    assert got["s"] == np.float32(1.5) and isinstance(got["s"], np.float32)
    assert got["nested"] == [1, 2.5, "x", None, True, (1, (2, 3))]
    assert got[(1, 2)] == {1, 2} and got["big"] == 2**70 and np.isnan(got["nan"])
    assert got["size"] == (2, 3) and got["dtype"] is torch.float16


def test_parameters_gradients_and_generators() -> None:
    p = nn.Parameter(torch.randn(3))
    p.grad = torch.ones(3)
    rng = np.random.default_rng(5)
    rng.random(3)
    got_p, got_rng = roundtrip([p, rng])
    assert isinstance(got_p, nn.Parameter) and torch.equal(got_p.grad, torch.ones(3))
    assert got_rng.random() == rng.random()


def test_modules_of_torch_layers_and_course_models_rebuild_equal() -> None:
    from coursecnn.models import lenet5

    torch.manual_seed(0)
    seq = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Flatten(), nn.Linear(4 * 6 * 6, 3)).eval()  # fmt: skip
    net = lenet5(input_size=28).eval()
    got_seq, got_net, layer = roundtrip([seq, net, seq[1]])
    x = torch.randn(2, 1, 6, 6)
    assert torch.equal(got_seq(x), seq(x)) and not got_seq.training
    assert layer is got_seq[1]  # one object sent once: identity survives
    digits = torch.randn(2, 1, 28, 28)
    assert torch.equal(got_net(digits), net(digits))
    assert type(got_net) is type(net)


def test_what_is_not_data_is_kept_as_a_handle_or_refused() -> None:
    class Mine(nn.Module):
        def forward(self, x):
            return x

    kept = []

    def keep(obj):
        kept.append(obj)
        return codec.Handle(len(kept), type(obj).__qualname__, "")

    header, _ = codec.encode({"m": Mine(), "f": lambda x: x}, keep=keep)
    assert header["v"]["m"]["$"] == "handle" and header["v"]["f"]["$"] == "handle"
    hooked = nn.Linear(2, 2)
    hooked.register_forward_hook(lambda *a: None)
    header, _ = codec.encode(hooked, keep=keep)
    assert header["$"] == "handle"  # a hook is code: the module stays where it is
    with pytest.raises(codec.CodecError):
        codec.encode(object())


def test_checkers_objects_cross_only_from_the_grader() -> None:
    from coursecnn.checks.gradients import _sum_exp

    header, _ = codec.encode(_sum_exp, objects=codec.GRADER_OBJECTS)
    assert header == {"$": "ref", "name": "coursecnn.checks.gradients:_sum_exp"}
    with pytest.raises(codec.CodecError):  # the kernel's answers may not name the checkers
        codec.Decoder([])(header)
