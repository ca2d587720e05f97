"""Grading treats every submission as hostile: each way a submission can try to win points or hurt
the run gains nothing, and every other score stays as it was.

The submissions here are tiny notebooks (a few seconds each), graded in bubblewrap sandboxes; the
tests are skipped, saying why, where bubblewrap cannot run, unless ``COURSECNN_SANDBOX_REQUIRED``
is set (``.ci/run`` sets it: in CI they must run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from coursecnn.grading import codec
from coursecnn.grading.grade import grade
from coursecnn.grading.release import student_version
from coursecnn.grading.sandbox import Limits, bwrap_usable

WHY = bwrap_usable()
if WHY and os.environ.get("COURSECNN_SANDBOX_REQUIRED"):
    raise RuntimeError(f"the grading sandbox must run here: {WHY}")
pytestmark = pytest.mark.skipif(bool(WHY), reason=f"no sandbox here: {WHY}")

TIMEOUT = 20
ROOT = Path(__file__).resolve().parents[1]


def _meta(cell, gid: str, graded: bool, points: float = 0) -> nbformat.NotebookNode:
    cell.metadata["nbgrader"] = {
        "grade": graded, "solution": not graded, "locked": graded, "grade_id": gid,
        "schema_version": 3, **({"points": points} if graded else {}),
    }  # fmt: skip
    return cell


def master() -> nbformat.NotebookNode:
    """Two exercises judged by the course's own checker (conv_math), one by plain asserts."""
    nb = new_notebook()
    nb.cells = [
        new_code_cell("import numpy as np\nfrom coursecnn.checks import conv_math as checks"),
        _meta(new_code_cell(
            "def output_size(n, k, stride=1, padding=0, dilation=1):\n"
            "    ### BEGIN SOLUTION\n"
            "    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1\n"
            "    ### END SOLUTION"), "ex_size", False),
        _meta(new_code_cell("checks.check_output_size(output_size)"), "check_output_size", True, 2),
        _meta(new_code_cell(
            "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION"),
            "ex_add", False),
        _meta(new_code_cell("assert add(2, 3) == 5, 'add(2, 3) should be 5'"), "check_add", True, 1),
    ]  # fmt: skip
    return nb


def blank_with(code: str) -> nbformat.NotebookNode:
    """The student version, with ``code`` as the first solution cell's body (the attack)."""
    nb = student_version(master(), "01_tiny.ipynb")
    nb.cells[1].source = code
    return nb


def write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def course(tmp_path: Path) -> Path:
    write(master(), tmp_path / "master" / "01_tiny.ipynb")
    return tmp_path


def points(results) -> list[float]:
    return [c.earned for r in results for c in r.checks]


def graded(course: Path, code: str, **kwargs):
    write(blank_with(code), course / "sub" / "01_tiny.ipynb")
    return grade(course / "sub", course / "master", course / "out", timeout=TIMEOUT, echo=False,
                 **kwargs)  # fmt: skip


def test_master_full_and_blank_zero(course: Path) -> None:
    full = grade(course / "master", course / "master", course / "o1", timeout=TIMEOUT, echo=False)
    assert points(full) == [2, 1]
    write(student_version(master(), "01_tiny.ipynb"), course / "blank" / "01_tiny.ipynb")
    blank = grade(course / "blank", course / "master", course / "o2", timeout=TIMEOUT, echo=False)
    assert points(blank) == [0, 0]
    assert "not yet answered" in blank[0].checks[0].reason


def test_swallowing_every_exception_in_the_kernel_gains_nothing(course: Path) -> None:
    """The attack that gave full marks when checks decided inside the kernel."""
    results = graded(course, "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)")
    assert points(results) == [0, 0]
    assert any("reach into" in n and "set_custom_exc (code cell 1" in n for n in results[0].notes)


def test_patched_checkers_and_builtins_in_the_kernel_gain_nothing(course: Path) -> None:
    attack = (
        "import builtins, coursecnn.checks._report as r, coursecnn.checks.conv_math as cm\n"
        "r.fail = lambda *a, **k: None\n"
        "cm.check_output_size = lambda *a, **k: None\n"
        "r.CheckFailed = type('Nothing', (Exception,), {})\n"
        "builtins.AssertionError = type('Quiet', (Exception,), {})\n"
        "def output_size(*a, **k):\n    return 0\n"
        "def add(a, b):\n    return 0\n"
        "checks = None\n"
    )
    assert points(graded(course, attack)) == [0, 0]


def test_answers_forged_on_the_channel_gain_nothing(course: Path) -> None:
    """Frames written ahead of time on the answer pipe cannot know the requests' nonces."""
    header = json.dumps({"ok": True, "data": {"$": "dict", "v": {"value": 5}}})
    attack = (
        "import os, struct, json\n"
        f"hdr = json.dumps({{'h': json.loads({header!r}), 'n': 0}}).encode()\n"
        "frame = struct.pack('>I', len(hdr)) + hdr\n"
        "for f in os.listdir('/proc/self/fd'):\n"
        "    try:\n"
        "        os.write(int(f), struct.pack('>Q', len(frame)) + frame)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    results = graded(course, attack)
    assert points(results) == [0, 0]


def test_reading_the_masters_other_students_and_the_output_gains_nothing(
    course: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nor does the grader's environment show: only an allow-list of variables reaches the kernel."""
    monkeypatch.setenv("GRADER_SECRET", "1")
    write(master(), course / "other" / "01_tiny.ipynb")  # another student's solved copy
    targets = [course / "master" / "01_tiny.ipynb", course / "other" / "01_tiny.ipynb"]
    attack = (
        "import json\n"
        f"for path in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        src = ''.join(json.load(open(path))['cells'][1]['source'])\n"
        "        exec(src.replace('### BEGIN SOLUTION', '').replace('### END SOLUTION', ''))\n"
        "        break\n"
        "    except OSError:\n"
        "        pass\n"
        f"open({str(course / 'out' / 'scores.json')!r}, 'w').write('{{}}')\n"
        "import os\n"
        "if os.environ.get('GRADER_SECRET'):\n"
        "    def add(a, b):\n        return a + b\n"
    )
    results = graded(course, attack)
    assert points(results) == [0, 0]
    scores = json.loads((course / "out" / "scores.json").read_text())
    assert scores["total"] == {"earned": 0, "possible": 3}


def test_a_process_left_behind_cannot_rewrite_the_scores(course: Path) -> None:
    out = course / "out" / "scores.json"
    attack = (
        "import subprocess\n"
        "subprocess.Popen(['sh', '-c', 'sleep 3; echo HACKED > " + str(out) + "; "
        "echo HACKED > /tmp/x'], start_new_session=True)\n"
        "def output_size(n, k, stride=1, padding=0, dilation=1):\n"
        "    return (n + 2 * padding - dilation * (k - 1) - 1) // stride + 1\n"
    )
    results = graded(course, attack)
    assert points(results) == [2, 0]
    assert any(n.startswith("left ") and "process" in n for n in results[0].notes), results[0].notes
    time.sleep(4)
    assert json.loads(out.read_text())["total"]["earned"] == 2


def test_network_limits_and_output_are_reported(course: Path) -> None:
    attack = (
        "import socket\n"
        "try:\n    socket.create_connection(('10.255.255.1', 80), timeout=2)\n"
        "except OSError:\n    pass\n"
        "print('x' * (1 << 20))\n"
        "block = bytearray(3 << 30)\n"
    )
    results = graded(course, attack, limits=Limits(memory=2 << 30))
    notes = " | ".join(results[0].notes)
    assert "tried the network" in notes and "10.255.255.1" in notes
    assert "memory limit" in notes
    assert "printed" in notes and "kept" in notes
    assert points(results) == [0, 0]


def test_limits_on_processes_and_file_size_hold_in_the_kernel() -> None:
    """Straight at the sandbox: a fork loop stops at the process limit, a big file at the size limit."""
    from coursecnn.grading import channel as ch
    from coursecnn.grading import sandbox

    kernel = sandbox.start([], Limits(processes=40, file_size=1 << 20), 1)
    chan = ch.Channel(kernel, 60, time.monotonic() + 120)
    try:
        chan.ready(60)
        ok, err = chan.run_cell(
            "import subprocess\nprocs = []\n"
            "try:\n    for _ in range(200):\n        procs.append(subprocess.Popen(['sleep', '30']))\n"
            "except OSError as e:\n    STOP = type(e).__name__\n"
            "N = len(procs)\n"
            "try:\n    open('/tmp/big', 'wb').write(b'0' * (2 << 20))\n    BIG = 'written'\n"
            "except OSError as e:\n    BIG = str(e)\n"
        )
        assert ok, err
        assert chan.get("N", "") < 200 and chan.get("STOP", "") in ("BlockingIOError", "OSError")
        assert "File too large" in chan.get("BIG", "")
        assert kernel.leftover() >= 1  # the sleeps, all killed with the sandbox below
    finally:
        chan.close()
        kernel.stop()


def test_symlinks_and_fifos_are_refused_and_cost_only_their_notebook(tmp_path: Path) -> None:
    for name in ("01_tiny.ipynb", "02_tiny.ipynb"):
        write(master(), tmp_path / "master" / name)
    sub = tmp_path / "sub"
    write(master(), sub / "02_tiny.ipynb")  # solved
    os.symlink(tmp_path / "master" / "01_tiny.ipynb", sub / "01_tiny.ipynb")
    os.mkfifo(sub / "data.fifo")
    results = grade(sub, tmp_path / "master", tmp_path / "out", timeout=TIMEOUT, echo=False)
    assert points(results) == [0, 0, 2, 1]
    assert "symbolic link" in results[0].checks[0].reason
    assert any("data.fifo" in n and "FIFO" in n for n in results[0].notes)


def test_a_killed_grader_leaves_no_kernel_and_no_half_written_scores(course: Path) -> None:
    write(blank_with("import time\ntime.sleep(60)"), course / "sub" / "01_tiny.ipynb")
    (course / "out").mkdir()
    (course / "out" / "scores.json").write_text("stale")
    code = (
        "from coursecnn.grading.grade import grade\n"
        f"grade({str(course / 'sub')!r}, {str(course / 'master')!r}, {str(course / 'out')!r}, "
        "timeout=100, echo=False)"
    )
    before = set(_all_kernels())
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _kernels_under(proc.pid):
        time.sleep(0.5)
    assert _kernels_under(proc.pid), "the kernel never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(2)
    assert not set(_all_kernels()) - before
    assert not (course / "out" / "scores.json").exists()  # stale removed first, none half-written


def _kernels_under(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if b"coursecnn.grading.kernel" in cmd and _descends(int(entry), pid):
                out.append(int(entry))
    return out


def _descends(child: int, ancestor: int) -> bool:
    while child > 1:
        if child == ancestor:
            return True
        try:
            child = int(Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def _all_kernels() -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if b"coursecnn.grading.kernel" in Path(f"/proc/{entry}/cmdline").read_bytes():
                    out.append(int(entry))
            except OSError:
                continue
    return out


def test_the_codec_refuses_what_is_not_data() -> None:
    """Never pickle: classes outside the allow-list, bad dtypes and malformed frames are refused."""
    import io

    with pytest.raises(codec.CodecError):
        codec.Decoder([])({"$": "object", "cls": "os:system", "state": {}})
    for name in ("subprocess:run", "torch:load", "torch:save", "numpy:save", "builtins:eval"):
        with pytest.raises(codec.CodecError):
            codec.Decoder([])({"$": "ref", "name": name})
    with pytest.raises(codec.CodecError):
        codec.Decoder([b"\0" * 8])({"$": "array", "i": 0, "dtype": "object", "shape": [1]})
    with pytest.raises(codec.CodecError):
        codec.Decoder([b"\0" * 7])({"$": "array", "i": 0, "dtype": "float64", "shape": [1]})
    with pytest.raises(codec.CodecError):  # an attribute may not stand in for a method
        codec.Decoder([])({"$": "object", "cls": "torch.nn.modules.activation:ReLU",
                           "state": {"attrs": {"forward": {"$": "ref", "name": "math:sqrt"}}}})  # fmt: skip
    with pytest.raises(codec.CodecError):
        codec.read_frame(io.BytesIO((1 << 40).to_bytes(8, "big")))
    with pytest.raises(codec.CodecError):
        codec.encode(lambda: 0)
