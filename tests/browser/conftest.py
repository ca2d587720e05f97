"""Fixtures of the browser tests: one JupyterLab on 127.0.0.1 and the system's Chromium.

Without Playwright or Chromium the tests are skipped with a message that says how to get them;
``COURSECNN_BROWSER_REQUIRED=1`` (set by ``.ci/run``) makes that a failure instead, so that CI
never passes by skipping. Screenshots go to ``artifacts/browser/`` (git-ignored;
``COURSECNN_BROWSER_ARTIFACTS`` moves it), emptied at the start of a run.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import labdriver
import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("COURSECNN_BROWSER_ARTIFACTS", ROOT / "artifacts" / "browser"))
REQUIRED = os.environ.get("COURSECNN_BROWSER_REQUIRED") == "1"


def _missing() -> str:
    """Why the browser tests cannot run here, or ``""``."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[test]', or ./course setup)"
    if labdriver.find_chromium() is None:
        return (
            "no Chromium found: install it (Debian: sudo apt-get install chromium) or "
            "point COURSECNN_CHROMIUM at a Chromium or Chrome binary; Playwright's own browser "
            "download is not used"
        )
    return ""


@pytest.fixture(scope="session")
def chromium_path() -> str:
    why = _missing()
    if why and REQUIRED:
        pytest.fail(f"the browser tests must run here (COURSECNN_BROWSER_REQUIRED=1), but {why}")
    if why:
        pytest.skip(f"browser tests skipped: {why}")
    return labdriver.find_chromium() or ""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(chromium_path: str, tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "root"
    root.mkdir()
    start = time.monotonic()
    with labdriver.jupyterlab(root, base / "home") as server:
        labdriver.REPORT.append(f"JupyterLab answered in {time.monotonic() - start:.0f} s")
        yield server


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = labdriver.launch_chromium(p, chromium_path)
        yield chromium
        chromium.close()


def pytest_terminal_summary(terminalreporter) -> None:
    if labdriver.REPORT:
        terminalreporter.section("browser tests (the notebooks run side by side, one tab each)")
        for line in labdriver.REPORT:
            terminalreporter.write_line(line)
