"""Shortcuts flagged for review: the static scan of submissions against each exercise's rules."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat.v4 as v4
import pytest

from coursecnn.grading import notebook as nbm
from coursecnn.grading.release import student_version
from coursecnn.grading.safe_text import spreadsheet_safe, strip_control
from coursecnn.grading.shortcuts import MISSING_CHECK, TOO_DEEP, flag_shortcuts, report_strings

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
SETUP = (
    "%matplotlib inline\n"
    "import numpy as np\n"
    "import torch\n"
    "import torch.nn.functional as F\n"
    "from torch import nn\n"
    "from scipy import signal\n"
    "from coursecnn import ops\n"
)


def _solution(gid: str, source: str) -> object:
    meta = {"grade": False, "solution": True, "locked": False, "grade_id": f"ex_{gid}"}
    return v4.new_code_cell(source, metadata={"nbgrader": meta})


def _check(gid: str) -> object:
    meta = {"grade": True, "solution": False, "locked": True, "grade_id": f"check_{gid}"}
    return v4.new_code_cell(f"checks.check_{gid}(f)", metadata={"nbgrader": {**meta, "points": 1}})


def _master(*gids: str) -> object:
    cells = [v4.new_code_cell(SETUP)]
    for gid in gids:
        body = "### BEGIN SOLUTION\ndef f(x):\n    return x\n### END SOLUTION\n"
        cells += [_solution(gid, body), _check(gid), v4.new_code_cell("print(F.conv2d)")]
    return v4.new_notebook(cells=cells)


def _submitted(master: object, *answers: str) -> object:
    """The master with its solution cells' sources replaced by ``answers``, in order."""
    nb = copy.deepcopy(master)
    solutions = [c for c in nb.cells if nbm.BEGIN_SOLUTION in c.source]
    for cell, answer in zip(solutions, answers, strict=True):
        cell.source = answer
    return nb


def _flags(gid: str, answer: str) -> list[str]:
    master = _master(gid)
    return flag_shortcuts(master, _submitted(master, answer))[f"check_{gid}"]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem[:2])
def test_the_masters_and_their_student_versions_raise_no_flag(path):
    master = nbm.read(path)
    graded = [nbm.grade_id(c) for _, c in nbm.graded_cells(master)]
    for submitted in (master, student_version(master, path.name)):
        flags = flag_shortcuts(master, submitted)
        assert list(flags) == graded
        assert all(found == [] for found in flags.values()), flags


CONV = "conv2d_single"  # rules out scipy's, NumPy's and torch's convolutions, and the package
SHORTCUTS = [
    (
        CONV,
        "import torch.nn.functional as Fn\ndef f(x, w):\n    return Fn.conv2d(x, w)",
        ["torch.nn.functional.conv2d (cell 1, line 3)"],
    ),
    (
        CONV,
        "from torch.nn.functional import conv2d as c2\ndef f(x, w):\n    return c2(x, w)",
        ["torch.nn.functional.conv2d (cell 1, line 3)"],
    ),
    (CONV, "def f(x, w):\n    return nn.Conv2d(1, 1, 3)(x)", ["torch.nn.Conv2d (cell 1, line 2)"]),
    (
        CONV,
        "def f(x, w):\n    return torch.nn.functional.conv2d(x, w)",
        ["torch.nn.functional.conv2d (cell 1, line 2)"],
    ),
    (
        CONV,
        "def f(x, w):\n    return torch.conv2d(x, w)",
        ["torch.conv2d (= torch.nn.functional.conv2d) (cell 1, line 2)"],
    ),
    (
        CONV,
        "from coursecnn.ops import *\n\ndef f(x, w):\n    return conv2d(x, w)",
        ["coursecnn.ops.conv2d (cell 1, line 4)"],
    ),
    (
        CONV,
        "def f(x, w):\n    return ops.correlate2d(x, w)",
        ["coursecnn.ops.correlate2d (cell 1, line 2)"],
    ),
    (  # what the exercise allows stays allowed; the rest of the package does not
        "apply_kernel",
        "def f(x, w):\n    return ops.correlate2d(ops.pad2d(x, 1), w) + ops.conv2d(x, w)",
        ["coursecnn.ops.conv2d (cell 1, line 2)"],
    ),
    (
        CONV,
        "def f(x, w):\n    return getattr(F, 'conv2d')(x, w)",
        ["torch.nn.functional.conv2d via getattr (cell 1, line 2)"],
    ),
    (
        CONV,
        "name = 'conv' + '2d'\ndef f(x, w):\n    return getattr(F, name)(x, w)",
        [
            "dynamic lookup (getattr/eval/import): getattr(torch.nn.functional, ...) "
            "(cell 1, line 3)"
        ],
    ),
    (
        CONV,
        "def f(x, w):\n    return eval('F.conv2d')(x, w)",
        ["dynamic lookup (getattr/eval/import): eval (cell 1, line 2)"],
    ),
    (
        CONV,
        "def f(x, w):\n    exec('y = F.conv2d(x, w)')\n    return y",
        ["dynamic lookup (getattr/eval/import): exec (cell 1, line 2)"],
    ),
    (
        CONV,
        "import importlib\ndef f(x, w):\n    return importlib.import_module('coursecnn.ops').conv2d(x, w)",
        [
            "coursecnn.ops.conv2d (cell 1, line 3)",
            "dynamic lookup (getattr/eval/import): importlib.import_module (cell 1, line 3)",
        ],
    ),
    (
        CONV,
        "def f(x, w):\n    return __import__('scipy.signal').signal.correlate2d(x, w)",
        [
            "dynamic lookup (getattr/eval/import): __import__ (cell 1, line 2)",
            "scipy.signal.correlate2d (cell 1, line 2)",
        ],
    ),
    (
        CONV,
        "def f(x, w):\n    return F.__dict__['conv2d'](x, w)",
        ["dynamic lookup (getattr/eval/import): __dict__ (cell 1, line 2)"],
    ),
    (  # a helper in the solution cell
        CONV,
        "def _h(a, b):\n    return signal.correlate2d(a, b, 'valid')\n\ndef f(x, w):\n    return _h(x, w)",
        ["scipy.signal.correlate2d (cell 1, line 2)"],
    ),
    (
        CONV,
        "f = lambda x, w: signal.correlate2d(x, w, mode='valid')",
        ["scipy.signal.correlate2d (cell 1, line 1)"],
    ),
    (
        CONV,
        "def f(x, w):\n    return np.stack([signal.correlate2d(c, w) for c in x])",
        ["scipy.signal.correlate2d (cell 1, line 2)"],
    ),
    (  # stored, then called through the container
        CONV,
        "table = {'c': signal.correlate2d}\ndef f(x, w):\n    return table['c'](x, w)",
        ["scipy.signal.correlate2d (cell 1, line 1)"],
    ),
    (
        CONV,
        "%time y = signal.correlate2d(np.ones((3, 3)), np.ones((2, 2)))\n!ls\ndef f(x, w):\n    return x",
        ["scipy.signal.correlate2d (cell 1, line 1)"],
    ),
    (  # code inside a cell magic that runs Python is read as code
        CONV,
        "%%time\nimport scipy.signal as ss\ndef f(x, w):\n    return ss.correlate2d(x, w)",
        ["scipy.signal.correlate2d (cell 1, line 4)"],
    ),
    (
        CONV,
        "%run helper.py\n%timeit -n 3 -r 2 signal.convolve2d(a, b)",
        [
            "dynamic lookup (getattr/eval/import): %run (cell 1, line 1)",
            "scipy.signal.convolve2d (cell 1, line 2)",
        ],
    ),
    (
        "sigmoid_backward",
        "def f(x, g):\n    t = torch.tensor(x, requires_grad=True)\n"
        "    torch.sigmoid(t).backward(torch.tensor(g))\n    return t.grad.numpy()",
        ["torch.Tensor.backward (cell 1, line 3)"],
    ),
    (
        "max_unpool",
        "def f(x, i):\n    return torch.zeros(3).numpy()",
        ["torch.zeros (cell 1, line 2)"],
    ),
    (
        "conv_layer",
        "def f(c, k):\n    return sum(p.numel() for p in nn.Linear(3, 4).parameters())",
        ["torch.nn.Linear (a torch.nn.Module) (cell 1, line 2)"],
    ),
    (
        "conv_layer",
        "class M(nn.Module):\n    pass\n\ndef f(c, k):\n    return M()",
        ["class M derives from torch.nn.Module (cell 1, line 1)"],
    ),
    (
        "residual_block",
        "import torchvision\nclass ResidualBlock(torchvision.models.resnet.BasicBlock):\n    pass",
        ["class ResidualBlock derives from torchvision.models.resnet.BasicBlock (cell 1, line 2)"],
    ),
    (  # a whole module allowed (coursecnn.train.tensor_loader), found through a re-export
        "train_loop",
        "from coursecnn.train import TensorLoader, fit\n"
        "def f(m, x):\n    TensorLoader(x)\n    return fit(m, x)",
        ["coursecnn.train.fit (cell 1, line 4)"],
    ),
    (
        "vocabulary",
        "from coursecnn.data.text import Vocabulary\ndef f(t):\n    return Vocabulary(t)",
        [
            "coursecnn.data.text.Vocabulary (= coursecnn.data.text.vocab.Vocabulary) "
            "(cell 1, line 3)"
        ],
    ),
    (CONV, "def f(x, w:\n    return x", ["unparsable cell: '(' was never closed (cell 1, line 1)"]),
    (  # the student's own function shadows the import
        CONV,
        "from coursecnn.ops import conv2d\ndef conv2d(x, w):\n    return x\n"
        "def f(x, w):\n    return conv2d(x, w)",
        [],
    ),
    (  # a clean answer
        CONV,
        "def f(x, w):\n    k = w.shape[0]\n    rows = range(x.shape[0] - k + 1)\n"
        "    return np.array([[np.sum(x[i:i+k, j:j+k] * w) for j in rows] for i in rows])",
        [],
    ),
    (  # looking at a class is not building it
        "conv_layer",
        "def f(m):\n    return isinstance(m, (nn.Linear, nn.Conv2d))",
        [],
    ),
]


@pytest.mark.parametrize(("gid", "answer", "expected"), SHORTCUTS)
def test_each_shortcut_is_found_where_it_is(gid, answer, expected):
    assert _flags(gid, answer) == expected


def test_a_helper_from_an_earlier_exercise_is_followed():
    master = _master("convolve_true", CONV)
    helper = "def helper(a, b):\n    return signal.correlate2d(a, b)\n\nf = helper"
    nb = _submitted(master, helper, "def f(x, w):\n    return helper(x, w)")
    assert flag_shortcuts(master, nb) == {
        "check_convolve_true": ["scipy.signal.correlate2d (cell 1, line 2)"],
        f"check_{CONV}": ["scipy.signal.correlate2d (cell 1, line 2, in helper)"],
    }


def test_names_are_resolved_as_bound_when_the_check_runs():
    master = _master(CONV)
    nb = _submitted(master, "def f(x, w):\n    return conv(x, w)")
    nb.cells.insert(2, v4.new_code_cell("conv = F.conv2d"))  # after the solution, before the check
    assert flag_shortcuts(master, nb)[f"check_{CONV}"] == [
        "torch.nn.functional.conv2d (cell 1, line 2)",  # the call, through the name
        "torch.nn.functional.conv2d (cell 2, line 1)",  # the name bound to it
    ]
    nb.cells[2].source = "conv = np.add"
    assert flag_shortcuts(master, nb)[f"check_{CONV}"] == []


def test_cells_are_paired_by_the_checks_grade_ids():
    # cells: 0 setup, 1 answer, 2 check, 3 print(F.conv2d), 4 answer, 5 check, 6 print(F.conv2d)
    master = _master(CONV, "apply_kernel")
    answers = ("def f(x):\n    return x", "def f(x, w):\n    return ops.conv2d(x, w)")
    ops_conv = "coursecnn.ops.conv2d (cell 4, line 2)"
    # the course's own cells, left as they were, are not judged (the print(F.conv2d) cells)
    assert flag_shortcuts(master, _submitted(master, *answers)) == {
        f"check_{CONV}": [],
        "check_apply_kernel": [ops_conv],
    }
    # a given cell reformatted and commented is still the course's
    nb = _submitted(master, *answers)
    nb.cells[3].source = "# the course's demo\nprint( F.conv2d )  # as it was\n"
    assert flag_shortcuts(master, nb)["check_apply_kernel"] == [ops_conv]
    # an edited given cell is the student's code
    nb = _submitted(master, *answers)
    nb.cells[3].source = "print(F.conv2d(torch.ones(1, 1, 3, 3), torch.ones(1, 1, 2, 2)))"
    assert flag_shortcuts(master, nb)["check_apply_kernel"] == [
        "torch.nn.functional.conv2d (cell 3, line 1)",
        ops_conv,
    ]
    # the first check moved below the second: the second's exercise now starts at the top,
    # the first's holds no cell
    nb = _submitted(master, *answers)
    nb.cells.insert(5, nb.cells.pop(2))
    assert flag_shortcuts(master, nb) == {
        f"check_{CONV}": [],
        "check_apply_kernel": ["coursecnn.ops.conv2d (cell 3, line 2)"],
    }
    # duplicated checks: the grader restores the first copy; an edited later copy runs as
    # the student's code
    nb = _submitted(master, *answers)
    edited = copy.deepcopy(nb.cells[2])
    edited.source = "F.conv2d(torch.ones(1, 1, 2, 2), torch.ones(1, 1, 2, 2))"
    nb.cells[3:3] = [copy.deepcopy(nb.cells[2]), edited]
    assert flag_shortcuts(master, nb)["check_apply_kernel"] == [
        "torch.nn.functional.conv2d (cell 4, line 1)",
        "coursecnn.ops.conv2d (cell 6, line 2)",
    ]
    # a deleted check cell: its exercise cannot be delimited
    nb = _submitted(master, *answers)
    del nb.cells[2]
    assert flag_shortcuts(master, nb)[f"check_{CONV}"] == [MISSING_CHECK]


def test_a_shortcut_in_a_real_master_is_found_in_its_exercise_only():
    master = nbm.read(NOTEBOOKS / "01_convolution_math.ipynb")
    nb = copy.deepcopy(master)
    index = next(i for i, c in enumerate(nb.cells) if nbm.grade_id(c) == "ex_conv2d_volume")
    nb.cells[index].source = (
        "def conv2d_volume(x, w, b, stride=1):\n"
        "    out = F.conv2d(torch.tensor(x)[None], torch.tensor(w), torch.tensor(b), stride)\n"
        "    return out[0].numpy()"
    )
    flags = flag_shortcuts(master, nb)
    assert flags["check_conv2d_volume"] == [f"torch.nn.functional.conv2d (cell {index}, line 2)"]
    assert all(not v for k, v in flags.items() if k != "check_conv2d_volume")


def test_broken_submissions_are_reported_not_raised():
    master = _master(CONV)
    deep = "x = " + "+".join(["signal.correlate2d(a, b)"] * 2000)  # parses; too deep to walk
    assert _flags(CONV, deep) == [f"{TOO_DEEP} (cell 1)"]
    assert _flags(CONV, "\x00") == [
        "unparsable cell: source code string cannot contain null bytes (cell 1)"
    ]
    # a check cell turned into markdown is put back as code by the grader: its exercise ends there
    nb = _submitted(master, "def f(x, w):\n    return signal.correlate2d(x, w)")
    nb.cells[2] = v4.new_markdown_cell("gone", metadata=nb.cells[2].metadata)
    assert flag_shortcuts(master, nb)[f"check_{CONV}"] == [
        "scipy.signal.correlate2d (cell 1, line 2)"
    ]
    nb = _submitted(master, "")
    nb.cells[1] = {"cell_type": "code", "metadata": 5, "source": ["x = 1\n", "F.conv2d(x)"]}
    nb.cells.insert(1, "not a cell")
    assert flag_shortcuts(master, nb)[f"check_{CONV}"] == [
        "torch.nn.functional.conv2d (cell 2, line 2)"
    ]


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="submitted_nb: expected a notebook"):
        flag_shortcuts(_master(CONV), "not a notebook")
    with pytest.raises(TypeError, match="master_nb"):
        flag_shortcuts(None, _master(CONV))


def test_report_strings_are_one_safe_line_per_check():
    flags = {
        "check_a": [],
        "check_b": ['=HYPERLINK("x")\n(cell 1,\tline 2)', "torch.zeros (cell 1, line 3)"],
        "check_c": [f"scipy.signal.correlate2d (cell 1, line {k})" for k in range(1, 40)],
    }
    out = report_strings(flags, limit=120)
    assert out["check_a"] == ""
    assert out["check_b"] == '\'=HYPERLINK("x") (cell 1, line 2); torch.zeros (cell 1, line 3)'
    assert len(out["check_c"]) <= 120 and out["check_c"].endswith(" more)")
    shown = out["check_c"].count("correlate2d")
    assert out["check_c"].endswith(f"(+{39 - shown} more)")
    long = report_strings({"x": ["a" * 500, "b"]}, limit=60)["x"]
    assert len(long) <= 60 and long.endswith("... (+1 more)")
    with pytest.raises(ValueError, match="limit: expected an int >= 40, got 3"):
        report_strings(flags, limit=3)


def test_strip_control_and_spreadsheet_safe():
    assert strip_control("a\nb\tc\x1b[31md\x7f\x85e") == "a b c [31md  e"
    assert strip_control("abc\u202edcba\u2066") == "abcdcba"
    assert strip_control("ünïcode stays") == "ünïcode stays"
    for formula in ("=1+1", "+1", "-1", "@SUM(A1)", " =1", "\t=1", "\uff1d1"):
        assert spreadsheet_safe(formula) == "'" + formula
    for text in ("torch.zeros (cell 1, line 2)", "", "a=b", "'quoted"):
        assert spreadsheet_safe(text) == text
    with pytest.raises(TypeError, match="text: expected a str, got int"):
        strip_control(3)  # type: ignore[arg-type]
