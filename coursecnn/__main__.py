"""Command line: ``python -m coursecnn {info,release,grade,gradescope,workspace,check,book} ...``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursecnn", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("info", help="versions, the torch device, and where each data set was found")

    rel = sub.add_parser("release", help="write student versions of the notebooks")
    rel.add_argument("source", nargs="?", default="notebooks",
                     help="folder (or one .ipynb) of master notebooks (default: notebooks)")  # fmt: skip
    where = rel.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="folder for the student versions")
    where.add_argument("--repo", help="new folder for a students' repository: package, data, "
                       "notebooks without solutions")  # fmt: skip

    grd = sub.add_parser("grade", help="run the graded checks on submitted notebooks")
    grd.add_argument("submitted", help="folder of submitted notebooks")
    grd.add_argument("--master", default="notebooks", help="folder of master notebooks")
    grd.add_argument("--out", default=None, help="folder for scores.json, CSV and JUnit XML")
    grd.add_argument("--timeout", type=int, default=120, help="seconds allowed per cell")
    grd.add_argument("--jobs", type=int, default=1, help="notebooks graded at a time")
    grd.add_argument("--sandbox", choices=["bwrap", "none", "auto"], default="bwrap",
                     help="bwrap (default): each notebook in its own bubblewrap sandbox; none: "
                     "only inside a container that holds this one submission")  # fmt: skip

    gsc = sub.add_parser("gradescope", help="Gradescope's autograder: write its zip, or grade")
    mode = gsc.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", help="write the autograder zip here, e.g. autograder.zip")
    mode.add_argument("--run", action="store_true",
                      help="grade ROOT/submission into ROOT/results/results.json (run_autograder)")  # fmt: skip
    gsc.add_argument("--master", default="notebooks", help="folder of master notebooks (--out)")
    gsc.add_argument("--notebooks", nargs="+", metavar="NN", default=None,
                     help="ship only these graded notebooks, e.g. 01 03 (--out; default all)")  # fmt: skip
    gsc.add_argument("--timeout", type=int, default=120, help="seconds allowed per cell")
    gsc.add_argument("--root", default="/autograder", help="Gradescope's folder (--run)")

    wsp = sub.add_parser("workspace", help="release new notebooks into the student's work folder")
    wsp.add_argument("--master", default="notebooks", help="folder of master notebooks")
    wsp.add_argument("--work", default="my_course", help="the student's work folder")
    wsp.add_argument("--fresh", metavar="NOTEBOOK", default=None,
                     help="a fresh copy of one notebook (the old one is kept, renamed)")  # fmt: skip

    chk = sub.add_parser("check", help="the graded checks of the student's own notebooks")
    chk.add_argument("notebooks", nargs="*", help="e.g. 03 or 03_pooling_and_activations")
    chk.add_argument("--work", default="my_course", help="the student's work folder")
    chk.add_argument("--master", default="notebooks", help="folder of master notebooks")
    chk.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")

    bk = sub.add_parser("book", help="build the course website (student versions, no solutions)")
    bk.add_argument("--master", default="notebooks", help="folder of master notebooks")
    bk.add_argument("--out", default="_build/book", help="folder for the site")
    bk.add_argument("--readme", default="README.md", help="the README, for the front page")

    args = parser.parse_args(argv)
    if args.command == "info":
        from coursecnn.info import main as info_main

        return info_main()
    if args.command == "release":
        from coursecnn.grading.release import main as release_main

        return release_main(args)
    if args.command == "gradescope":
        from coursecnn.grading.gradescope import main as gradescope_main

        return gradescope_main(args)
    if args.command == "book":
        from coursecnn.book.build import main as book_main

        return book_main(args)
    if args.command in ("workspace", "check"):
        from coursecnn.grading.workspace import main as workspace_main

        return workspace_main(args)
    from coursecnn.grading.grade import main as grade_main

    return grade_main(args)


if __name__ == "__main__":
    sys.exit(main())
