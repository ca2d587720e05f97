"""The README's lab command: `./course lab` starts JupyterLab on the notebooks."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_help_names_the_two_commands():
    out = subprocess.run(
        ["bash", str(ROOT / "course"), "help"], capture_output=True, text=True, check=True
    ).stdout
    assert "./course lab" in out and "./course test" in out


@pytest.mark.skipif(
    not (VENV / ".coursecnn-installed").exists(),
    reason="runs only inside the virtual environment that ./course made (it must not install elsewhere)",
)
def test_lab_starts_jupyterlab_on_the_notebooks(tmp_path):
    port, token = free_port(), "coursecnn-test"
    env = dict(os.environ, COURSECNN_VENV=str(VENV), JUPYTER_RUNTIME_DIR=str(tmp_path))
    cmd = [
        "bash",
        str(ROOT / "course"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
    ]
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        listing, deadline = None, time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=5) as r:
                    listing = json.load(r)
                break
            except OSError:
                time.sleep(1)
        assert listing is not None, (
            f"JupyterLab did not answer on {base} (exit code {proc.poll()}):\n"
            + (tmp_path / "lab.log").read_text()[-3000:]
        )
        names = {item["name"] for item in listing["content"]}
        assert "00_start_here.ipynb" in names, names
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
