"""benchmarks/gpu.py runs on a machine without a GPU and says so (its CPU path, small sizes)."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def gpu_script(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gpu

    return gpu


def test_cpu_run_of_the_parity_part_says_no_gpu_was_measured(gpu_script, capsys):
    results = gpu_script.main(["--device", "cpu", "--parts", "parity"])
    out = capsys.readouterr().out
    assert results["gpu_measured"] is False and "NO GPU MEASURED" in out
    assert results["parity"] == [] and "nothing to compare" in out
    assert out.count("runs on the CPU") == len(gpu_script.parity_models())


def test_unknown_part_is_refused(gpu_script):
    with pytest.raises(SystemExit):
        gpu_script.main(["--device", "cpu", "--parts", "banana"])
    assert "gpu" in sys.modules
