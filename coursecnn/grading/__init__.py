"""Hand out and grade the exercises, in nbgrader's conventions.

``notebook`` reads the markup (solution regions, graded-cell metadata); ``release`` writes the
student versions; ``grade`` runs nbval on submitted notebooks and scores the graded checks.
"""

from coursecnn.grading.notebook import MarkupError

__all__ = ["MarkupError"]
