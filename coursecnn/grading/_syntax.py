"""Python syntax trees built one at a time in the grader's process.

CPython 3.11 counts the AST constructor's recursion in state that all threads share, so two
threads that build trees at once (``grade(jobs=2)`` grades notebooks in threads) can fail with
``SystemError: AST constructor recursion depth mismatch`` (python/cpython#106905). Every tree the
grader builds (``ast.parse``) or compiles (``compile`` of a tree) goes through this lock.
"""

from __future__ import annotations

import ast
import threading
from types import CodeType

_LOCK = threading.Lock()


def parse(source: str) -> ast.Module:
    """``ast.parse(source)``, one thread at a time."""
    with _LOCK:
        return ast.parse(source)


def compile_tree(tree: ast.Module, filename: str) -> CodeType:
    """``compile(tree, filename, "exec")``, one thread at a time."""
    with _LOCK:
        return compile(tree, filename, "exec")
