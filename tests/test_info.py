"""``python -m coursecnn info`` and ``coursecnn.info.environment_report``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from coursecnn import info
from coursecnn.data import samples

ROOT = Path(__file__).resolve().parents[1]


def test_report_has_versions_device_and_data():
    report = info.environment_report()
    versions = report["versions"]
    for name in ("python", "numpy", "torch", "torchvision", "scipy", "skimage", "matplotlib"):
        assert versions[name] and versions[name] != "not installed", name
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["device"].split(" ")[0] in ("cpu", "cuda", "mps")
    where = report["data"]
    assert set(where) == {
        "digits sample",
        "fashion_mnist sample",
        "fashion_mnist full",
        "mnist full",
        "movie_reviews sentences",
        "tweets sentences",
        "sentence polarity",
        "names",
        "photos",
    }
    assert "digits.npz (SHA-256 ok)" in where["digits sample"]
    assert "tweets.tsv.bz2 (SHA-256 ok)" in where["tweets sentences"]
    assert where["names"].startswith("data/names.tsv.bz2") and "12 languages" in where["names"]
    assert all(
        v.startswith(("/", "not found (", "skimage", "data/")) or ":" in v for v in where.values()
    )


def test_missing_full_sets_say_how_to_get_them(monkeypatch, tmp_path):
    from coursecnn.data import full

    monkeypatch.setenv("COURSECNN_DATA", str(tmp_path))
    monkeypatch.setattr(full, "DEBIAN_FASHION_DIR", tmp_path / "none")
    monkeypatch.setattr(samples, "SHIPPED_DIR", tmp_path)
    where = info.data_sources()
    assert where["fashion_mnist full"].startswith("not found (apt-get install")
    assert where["mnist full"].startswith("not found (set COURSECNN_DATA")
    assert where["digits sample"].startswith("NOT OK") and "git checkout" in where["digits sample"]


def test_main_prints_the_report_and_fails_on_a_broken_sample(capsys, monkeypatch, tmp_path):
    assert info.main() == 0
    out = capsys.readouterr().out
    assert "torch uses" in out and "fashion_mnist sample" in out and "numpy" in out
    monkeypatch.setattr(samples, "SHIPPED_DIR", tmp_path)
    assert info.main() == 1


def test_python_m_coursecnn_info():
    run = subprocess.run(
        [sys.executable, "-m", "coursecnn", "info"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "device" in run.stdout and "digits sample" in run.stdout
