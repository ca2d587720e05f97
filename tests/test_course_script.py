"""The README's lab command: `./course lab` starts JupyterLab on the student's own copies
(`--solutions`: on the instructor's)."""

import contextlib
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


@contextlib.contextmanager
def _serve(tmp_path, *args: str, work: Path):
    """Start ``./course lab ARGS`` on a free port; yield (base URL, token); stop it after."""
    port, token = free_port(), "coursecnn-test"
    env = dict(
        os.environ,
        COURSECNN_VENV=str(VENV),
        COURSECNN_WORK=str(work),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    cmd = ["bash", str(ROOT / "course"), "lab", *args, "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", f"--IdentityProvider.token={token}"]  # fmt: skip
    log_path = tmp_path / f"lab-{port}.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=5):
                    break
            except OSError:
                time.sleep(1)
        else:
            raise AssertionError(
                f"JupyterLab did not answer on {base} (exit code {proc.poll()}):\n"
                + log_path.read_text()[-3000:]
            )
        yield base, token, log_path
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _get(base: str, token: str, path: str) -> dict:
    with urllib.request.urlopen(f"{base}/api/contents/{path}?token={token}", timeout=10) as r:
        return json.load(r)


def _solution_sources(nb: dict) -> list[str]:
    return [
        "".join(c["source"])
        for c in nb["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]


NEEDS_VENV = pytest.mark.skipif(
    not (VENV / ".coursecnn-installed").exists(),
    reason="runs only inside the virtual environment that ./course made (it must not install elsewhere)",
)


@NEEDS_VENV
def test_lab_serves_the_students_own_copies(tmp_path):
    work = tmp_path / "my_course"
    with _serve(tmp_path, work=work) as (base, token, log):
        names = {item["name"] for item in _get(base, token, "")["content"]}
        assert "00_start_here.ipynb" in names and "05_lenet.ipynb" in names, names
        nb = _get(base, token, "01_convolution_math.ipynb")["content"]
        solutions = _solution_sources(nb)
        assert solutions and all("raise NotImplementedError()" in s for s in solutions)
        assert f"your work lives in {work}" in log.read_text()
        with urllib.request.urlopen(f"{base}/lab?token={token}", timeout=10) as r:
            assert r.status == 200 and b"JupyterLab" in r.read()
    # a second start keeps what the student wrote
    (work / "01_convolution_math.ipynb").write_text('{"edited": true}', encoding="utf-8")
    with _serve(tmp_path, work=work) as (_, _, log):
        assert "none is new" in log.read_text()
    assert (work / "01_convolution_math.ipynb").read_text(encoding="utf-8") == '{"edited": true}'


@NEEDS_VENV
def test_lab_solutions_serves_the_instructors_copies(tmp_path):
    work = tmp_path / "unused"
    with _serve(tmp_path, "--solutions", work=work) as (base, token, _):
        nb = _get(base, token, "01_convolution_math.ipynb")["content"]
        assert all("### BEGIN SOLUTION" in s for s in _solution_sources(nb))
    assert not work.exists()
