"""Time to grade an honest submission of the whole course: the sandboxed grader against nbval.

    python benchmarks/grading.py                 # every graded master, whole, one at a time
    python benchmarks/grading.py --notebooks 01 03 --sandbox none

The submission is a copy of the masters, outputs cleared (every check passes). The grader
(``coursecnn.grading.grade``: a kernel per notebook in bubblewrap, checks decided in the
grader) is timed against the reference in the same process: what grading ran before issue 25,
nbval on each notebook in a subprocess (``pytest --nbval-lax --nbval-current-env``, the same
environment: static output, Agg, the same torch threads). Both run one notebook at a time; the
reference runs first, then the grader. The bound of issue 25: at most 1.2 times the reference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from coursecnn.grading import notebook as nbm  # noqa: E402
from coursecnn.grading.grade import grade, graded_masters  # noqa: E402
from coursecnn.grading.workspace import resolve_names  # noqa: E402
from coursecnn.train.seed import available_cpus  # noqa: E402


def nbval_seconds(folder: Path, names: list[str], threads: int) -> dict[str, float]:
    """Wall time of nbval on each notebook, as the former grader ran it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_CORE_"))}
    env.update(MPLBACKEND="Agg", COURSECNN_STATIC_OUTPUT="1", COURSECNN_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), PYTHONHASHSEED="0")  # fmt: skip
    (folder / "pytest.ini").write_text("[pytest]\n")
    out = {}
    for name in names:
        start = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env",
             "--nbval-cell-timeout=600", "-p", "no:cacheprovider", "-c",
             str(folder / "pytest.ini"), f"--rootdir={folder}", "-q", name],
            cwd=folder, env=env, capture_output=True, text=True,
        )  # fmt: skip
        out[name] = time.monotonic() - start
        if proc.returncode != 0:
            raise SystemExit(f"nbval failed on {name}:\n{proc.stdout[-2000:]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", nargs="*", help="e.g. 01 03 (default: every graded one)")
    parser.add_argument("--sandbox", default="bwrap", choices=["bwrap", "none"])
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    masters = ROOT / "notebooks"
    paths = resolve_names(masters, args.notebooks) if args.notebooks else graded_masters(masters)
    threads = available_cpus()
    with tempfile.TemporaryDirectory(prefix="coursecnn-bench-") as tmp:
        sub = Path(tmp) / "submission"
        sub.mkdir()
        for p in paths:  # outputs cleared, as the former grader cleared them before nbval
            nb = nbm.read(p)
            nbm.clear_outputs(nb)
            nbm.write_atomic(nb, sub / p.name)
        ref = nbval_seconds(sub, [p.name for p in paths], threads)
        (sub / "pytest.ini").unlink()
        start = time.monotonic()
        # the submission is a copy of the chosen masters, so it is also their master folder
        results = grade(sub, sub, Path(tmp) / "out", timeout=600, echo=False,
                        sandbox=args.sandbox)  # fmt: skip
        total = time.monotonic() - start
    earned = sum(r.earned for r in results)
    possible = sum(r.possible for r in results)
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpus": threads,
        "sandbox": args.sandbox,
        "nbval_s": round(sum(ref.values()), 1),
        "grade_s": round(total, 1),
        "ratio": round(total / sum(ref.values()), 3),
        "points": f"{earned:g} / {possible:g}",
        "per_notebook": {r.name: [round(ref[r.name], 1), round(r.seconds, 1)] for r in results},
    }
    print(f"{'notebook':34s} {'nbval s':>8s} {'grade s':>8s}")
    for name, (a, b) in report["per_notebook"].items():
        print(f"{name:34s} {a:8.1f} {b:8.1f}")
    print(f"{'total':34s} {report['nbval_s']:8.1f} {report['grade_s']:8.1f}   "
          f"ratio {report['ratio']:.3f}   points {report['points']}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
