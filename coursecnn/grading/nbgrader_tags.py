"""An nbgrader preprocessor that lets *Run All* run nbgrader's student copies to their end.

``nbgrader generate_assignment`` keeps cell tags, but the masters carry none: on a fresh copy
the first solution cell raises ``NotImplementedError`` and JupyterLab's *Run All* stops there.
``RaisesExceptionTags`` tags the solution and graded code cells ``raises-exception``, the cells
``./course release`` tags (``coursecnn.grading.release``), so nbgrader's copies and the course's
behave alike. Autograding is unaffected: nbgrader runs every cell whatever its tags and scores a
graded cell by its outputs. Used by the repository's ``nbgrader_config.py``; needs nbgrader.
"""

from __future__ import annotations

from typing import Any

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor

from coursecnn.grading.release import RAISES


class RaisesExceptionTags(NbGraderPreprocessor):
    """Tag every solution and graded code cell ``raises-exception`` (once)."""

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        if cell.cell_type == "code" and (utils.is_solution(cell) or utils.is_grade(cell)):
            tags = cell.metadata.setdefault("tags", [])
            if RAISES not in tags:
                tags.append(RAISES)
        return cell, resources
