"""The run profile and the device choice that every notebook reads."""

import pytest
import torch

from coursecnn import device, profile


def test_profile_defaults_to_quick(monkeypatch):
    monkeypatch.delenv("COURSECNN_PROFILE", raising=False)
    profile.set_profile(None)
    assert profile.profile() == "quick"
    assert not profile.is_full()


def test_profile_reads_environment_and_override(monkeypatch):
    monkeypatch.setenv("COURSECNN_PROFILE", "FULL")
    profile.set_profile(None)
    assert profile.is_full()
    profile.set_profile("quick")
    try:
        assert profile.profile() == "quick"
    finally:
        profile.set_profile(None)


def test_profile_rejects_unknown_names(monkeypatch):
    monkeypatch.setenv("COURSECNN_PROFILE", "turbo")
    profile.set_profile(None)
    with pytest.raises(ValueError, match="COURSECNN_PROFILE.*'turbo'"):
        profile.profile()
    with pytest.raises(ValueError, match="name: expected one of"):
        profile.set_profile("turbo")


def test_default_device_is_available(monkeypatch):
    monkeypatch.delenv("COURSECNN_DEVICE", raising=False)
    dev = device.default_device()
    assert dev.type in {"cpu", "cuda", "mps"}
    torch.zeros(1, device=dev)  # usable
    assert device.describe_device(dev).startswith(dev.type)


def test_device_override_and_refusal(monkeypatch):
    monkeypatch.setenv("COURSECNN_DEVICE", "cpu")
    assert device.default_device() == torch.device("cpu")
    assert device.resolve_device(None) == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device: expected an available device, got 'cuda'"):
            device.resolve_device("cuda")
