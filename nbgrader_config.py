"""nbgrader's configuration for this course (nbgrader 0.9): copy it into your course directory.

nbgrader reads ``nbgrader_config.py`` from the folder it runs in. It needs the course's package
(``coursecnn``) importable, as in the course's virtual environment (``source .venv/bin/activate``;
nbgrader also runs ``alembic`` from ``PATH``). With it, nbgrader scores the course's notebooks as
``./course grade`` does (the README's instructor section lists what still differs), and
``tests/test_graders_agree.py`` proves it on solved, blank and partly solved submissions.
"""

from nbgrader.converters import GenerateAssignment

from coursecnn.grading.nbgrader_tags import RaisesExceptionTags

c = get_config()  # noqa: F821 - nbgrader defines get_config in its configuration files

# 1. Run All runs a student copy to its end: solution and check cells are tagged
#    raises-exception, as `./course release` tags them (JupyterLab runs on past their errors).
c.GenerateAssignment.preprocessors = [
    *GenerateAssignment.class_traits()["preprocessors"].default(),
    RaisesExceptionTags,
]

# 2. A cell may run 120 s, as under `./course grade` (nbgrader's default is 30 s); a cell that runs
#    longer is interrupted and scores 0, and the notebook goes on. The kernel gets 120 s to start.
c.Execute.timeout = 120
c.Execute.startup_timeout = 120

# 3. A check cell the student deleted is put back and run, as `./course grade` puts it back
#    (nbgrader's default leaves it out, and the check needs grading by hand).
c.OverwriteCells.add_missing_cells = True

# 4. Only an error costs a check its points, as under `./course grade`: nbgrader scores a graded
#    cell with any stderr output 0, so stderr output (warnings, progress bars) is dropped from
#    the autograded copies before they are scored.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]*"  # every stderr output, the empty one included

# Nothing here may change the environment: nbgrader's JupyterLab extensions read this file too
# when JupyterLab starts in its folder (`./course lab` starts in the repository's root).
