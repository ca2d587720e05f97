"""``python -m coursecnn info``: versions, the torch device, and where each data set was found."""

from __future__ import annotations

import platform
from importlib import metadata

#: distribution name -> the name printed
PACKAGES = {
    "numpy": "numpy",
    "torch": "torch",
    "torchvision": "torchvision",
    "scipy": "scipy",
    "scikit-image": "skimage",
    "matplotlib": "matplotlib",
    "ipywidgets": "ipywidgets",
    "jupyterlab": "jupyterlab",
    "captum": "captum",
    "coursecnn": "coursecnn",
}


def versions() -> dict[str, str]:
    """``{"python": "3.11.7", "numpy": "2.1.0", ...}``; ``"not installed"`` when missing."""
    found = {"python": platform.python_version()}
    for dist, label in PACKAGES.items():
        try:
            found[label] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[label] = "not installed"
    try:  # the local part too, e.g. 2.4.0+cu121: which CUDA (or CPU-only) build
        import torch

        found["torch"] = torch.__version__
        found["torch build"] = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU only"
    except ImportError:
        pass
    return found


def data_sources() -> dict[str, str]:
    """Where each data set is, or ``"not found (how to get it)"``; nothing is downloaded."""
    from coursecnn import data
    from coursecnn.data import samples

    found = {}
    for name, file in samples.SAMPLES.items():
        try:
            found[f"{name} sample"] = f"{samples.verify(samples.SHIPPED_DIR / file)} (SHA-256 ok)"
        except (OSError, ValueError) as err:
            found[f"{name} sample"] = f"NOT OK: {err}"
    hints = {
        "fashion_mnist": "apt-get install dataset-fashion-mnist, set COURSECNN_DATA, "
        "or run coursecnn.data.fashion_mnist(full=True) once online",
        "mnist": "set COURSECNN_DATA, or run coursecnn.data.mnist() once online",
    }
    for name in data.FULL_SETS:
        folder = data.find_full(name)
        found[f"{name} full"] = str(folder) if folder else f"not found ({hints[name]})"
    from coursecnn.data import text

    for name, file in text.SENTENCE_FILES.items():
        try:
            found[f"{name} sentences"] = (
                f"{samples.verify(samples.SHIPPED_DIR / file)} (SHA-256 ok)"
            )
        except (OSError, ValueError) as err:
            found[f"{name} sentences"] = f"NOT OK: {err}"
    archive = text.find_polarity()
    found["sentence polarity"] = (
        str(archive)
        if archive
        else "not found (run coursecnn.data.text.movie_reviews(original=True) once online)"
    )
    try:
        n = len(text.names("train")[0]) + len(text.names("test")[0])
        found["names"] = (
            f"data/names.tsv.bz2, from Faker {text.faker_version()} ({n:,} names, "
            f"{len(text.NAME_LANGUAGES)} languages)"
        )
    except Exception as err:  # the names file missing or corrupted
        found["names"] = f"NOT OK: {type(err).__name__}: {err}"
    try:
        data.photo("camera")
        found["photos"] = f"skimage.data ({len(data.PHOTOS)} photos, offline)"
    except Exception as err:  # a broken scikit-image install
        found["photos"] = f"NOT OK: {type(err).__name__}: {err}"
    return found


def environment_report() -> dict[str, object]:
    """``{"versions": {...}, "device": "cpu (2 threads)", "data": {...}}``."""
    from coursecnn.device import describe_device

    return {"versions": versions(), "device": describe_device(), "data": data_sources()}


def format_report(report: dict[str, object]) -> str:
    """The report as aligned text, one item a line."""
    lines = ["versions"]
    lines += [f"  {k:<12} {v}" for k, v in report["versions"].items()]
    lines += ["device", f"  torch uses   {report['device']}", "data"]
    lines += [f"  {k:<24} {v}" for k, v in report["data"].items()]
    return "\n".join(lines)


def main() -> int:
    """Print the report; 0 when the shipped samples check out, else 1."""
    report = environment_report()
    print(format_report(report))
    broken = [k for k, v in report["data"].items() if str(v).startswith("NOT OK")]
    return 1 if broken else 0
