"""The grader builds syntax trees one thread at a time (CPython 3.11's AST recursion counter is
shared by threads: python/cpython#106905)."""

from __future__ import annotations

import ast

from coursecnn.grading import _syntax


def test_parse_and_compile_hold_the_lock(monkeypatch) -> None:
    held = []
    real_parse = ast.parse

    def parse(source: str) -> ast.Module:
        held.append(_syntax._LOCK.locked())
        return real_parse(source)

    monkeypatch.setattr(ast, "parse", parse)
    tree = _syntax.parse("x = 1 + 2")
    assert held == [True] and not _syntax._LOCK.locked()
    namespace: dict = {}
    exec(_syntax.compile_tree(tree, "<test>"), namespace)
    assert namespace["x"] == 3
