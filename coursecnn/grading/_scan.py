"""The syntax-tree walk behind ``shortcuts``: what names the notebook's code calls, resolved.

A :class:`Walk` reads a notebook's code cells in order, as the kernel would run them, keeping
what each name is bound to (``import torch.nn.functional as F``, ``conv = F.conv2d``, ``def``,
``class``). The cells of one exercise are walked with that exercise's :class:`Forbidden`: each
call, and each other mention of a callable, is resolved to a dotted name and judged. Function and
class bodies run when the check calls them, so they are judged with the names bound when the
check cell is reached; a function the exercise's code calls that the student defined elsewhere is
followed. Nothing is executed.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field
from typing import Any

from coursecnn.grading._forbidden import Forbidden, found, lookup
from coursecnn.grading._syntax import parse

#: Calls that look a name up at run time, out of a static scan's sight.
DYNAMIC = {
    "builtins.eval": "eval",
    "builtins.exec": "exec",
    "builtins.compile": "compile",
    "builtins.__import__": "__import__",
    "builtins.globals": "globals",
    "builtins.locals": "locals",
    "importlib.import_module": "importlib.import_module",
    "importlib.__import__": "importlib.__import__",
}
DYNAMIC_LABEL = "dynamic lookup (getattr/eval/import)"
#: IPython magics whose argument is Python code that runs in the kernel.
PY_MAGICS = {"time", "timeit", "prun", "capture", "debug"}
_MAGIC_OPTIONS = re.compile(r"^\s*(?:-[nrpsTDl]\s*\S+\s+|-[tcqo]\s+)*")
#: Calls whose arguments are looked at, not run (``isinstance(m, nn.Conv2d)``).
_INSPECTING = {"builtins.isinstance", "builtins.issubclass", "builtins.type", "builtins.hasattr"}


@dataclass(frozen=True)
class Ref:
    """A name in a module's namespace: ``torch.nn.functional.conv2d``, ``builtins.getattr``."""

    name: str


@dataclass(eq=False)
class Local:
    """A function or class the notebook defines."""

    kind: str  # "def" or "class"
    name: str
    node: Any
    cell: int
    offset: int
    given: bool  # written by the course (a master cell the student left as it was)
    bases: list[Any] = field(default_factory=list)


Binding = Ref | Local | None  # None: a value a static scan cannot name


@dataclass(frozen=True)
class Hit:
    """One finding: what, where (cell index, line in the cell), and the function followed."""

    text: str
    cell: int
    line: int
    via: str = ""

    def __str__(self) -> str:
        line = f", line {self.line}" if self.line else ""
        via = f", in {self.via}" if self.via else ""
        return f"{self.text} (cell {self.cell}{line}{via})"


@dataclass
class Exercise:
    """One exercise's scan in progress: its rules and findings, bodies still to judge."""

    forbidden: Forbidden
    hits: list[Hit] = field(default_factory=list)
    deferred: list[tuple[Any, int, int, str]] = field(default_factory=list)
    done: set[int] = field(default_factory=set)  # function bodies judged
    classes: set[int] = field(default_factory=set)  # classes defined in the exercise's cells


class Walk:
    """Reads cells in order (``cell``); judges those given an :class:`Exercise`."""

    def __init__(self) -> None:
        self.env: dict[str, Binding] = {}
        self.ex: Exercise | None = None
        self.cell = 0
        self.offset = 0
        self.given = False
        self.via = ""

    # ------------------------------------------------------------------ entry points
    def run_cell(
        self, tree: ast.Module, cell: int, given: bool, ex: Exercise | None, offset: int = 0
    ) -> None:
        """Run one parsed cell: bind its names; judge it when ``ex`` is given."""
        self.cell, self.offset, self.given, self.ex, self.via = cell, offset, given, ex, ""
        self._block(tree.body, [self.env])
        self.ex = None

    def finish(self, ex: Exercise) -> None:
        """The check cell is reached: judge the bodies of the exercise's functions and those
        they call, with the names as they are bound now."""
        self.ex = ex
        while ex.deferred:
            node, cell, offset, via = ex.deferred.pop(0)
            if id(node) in ex.done:
                continue
            ex.done.add(id(node))
            self.cell, self.offset, self.via = cell, offset, via
            self._body(node, [self.env])
        self.ex = None

    # ------------------------------------------------------------------ reporting
    def _hit(self, text: str, node: Any) -> None:
        assert self.ex is not None
        line = getattr(node, "lineno", 0) + self.offset
        hit = Hit(text, self.cell, line, self.via)
        if hit not in self.ex.hits:
            self.ex.hits.append(hit)

    def _follow(self, local: Local, via: str | None = None) -> None:
        """Judge a function (or every method of a class) the student defined, when called."""
        if self.ex is None or local.given:
            return
        if local.kind == "def":
            self.ex.deferred.append((local.node, local.cell, local.offset, via or local.name))
            return
        for stmt in local.node.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                item = (stmt, local.cell, local.offset, f"{local.name}.{stmt.name}")
                self.ex.deferred.append(item)

    # ------------------------------------------------------------------ names
    def _lookup(self, name: str, scopes: list[dict[str, Binding]]) -> Binding:
        for scope in reversed(scopes):
            if name in scope:
                return scope[name]
        if hasattr(builtins, name):
            return Ref(f"builtins.{name}")
        return None

    def resolve(self, node: Any, scopes: list[dict[str, Binding]]) -> Binding:
        """What an expression names: a dotted name, a local function or class, or None."""
        if isinstance(node, ast.Name):
            return self._lookup(node.id, scopes)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value, scopes)
            return Ref(f"{base.name}.{node.attr}") if isinstance(base, Ref) else None
        if isinstance(node, ast.Call):
            func = self.resolve(node.func, scopes)
            if not isinstance(func, Ref) or not node.args:
                return None
            first = node.args[0]
            const = first.value if isinstance(first, ast.Constant) else None
            if func.name == "builtins.getattr" and len(node.args) >= 2:
                obj, attr = self.resolve(first, scopes), node.args[1]
                if isinstance(obj, Ref) and isinstance(attr, ast.Constant):
                    if isinstance(attr.value, str):
                        return Ref(f"{obj.name}.{attr.value}")
            elif func.name in ("importlib.import_module", "importlib.__import__") and const:
                return Ref(str(const))
            elif func.name == "builtins.__import__" and isinstance(const, str):
                fromlist = len(node.args) >= 4 or any(k.arg == "fromlist" for k in node.keywords)
                return Ref(const if fromlist else const.split(".")[0])
        return None

    def _bind(self, target: Any, value: Binding, scopes: list[dict[str, Binding]]) -> None:
        if isinstance(target, ast.Name):
            scopes[-1][target.id] = value
        elif isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._bind(elt.value if isinstance(elt, ast.Starred) else elt, None, scopes)
        elif isinstance(target, ast.Starred):
            self._bind(target.value, None, scopes)

    def _assign(self, targets: list[Any], value: Any, scopes: list[dict[str, Binding]]) -> None:
        for target in targets:
            if (
                isinstance(target, ast.Tuple | ast.List)
                and isinstance(value, ast.Tuple | ast.List)
                and len(target.elts) == len(value.elts)
            ):
                for t, v in zip(target.elts, value.elts, strict=True):
                    self._assign([t], v, scopes)
            elif isinstance(value, ast.Lambda) and isinstance(target, ast.Name):
                scopes[-1][target.id] = self._local("def", target.id, value)
            else:
                self._bind(target, self.resolve(value, scopes), scopes)

    def _local(self, kind: str, name: str, node: Any, bases: list[Any] | None = None) -> Local:
        return Local(kind, name, node, self.cell, self.offset, self.given, bases or [])

    def _import(self, node: ast.Import | ast.ImportFrom, scope: dict[str, Binding]) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    scope[alias.asname] = Ref(alias.name)
                else:
                    top = alias.name.split(".")[0]
                    scope[top] = Ref(top)
            return
        if node.level or not node.module:  # a relative import names nothing we know
            for alias in node.names:
                if alias.name != "*":
                    scope[alias.asname or alias.name] = None
            return
        for alias in node.names:
            if alias.name == "*":
                module = lookup(node.module)
                if found(module):
                    names = getattr(module, "__all__", None)
                    if names is None:
                        names = [n for n in vars(module) if not n.startswith("_")]
                    for n in names:
                        scope[str(n)] = Ref(f"{node.module}.{n}")
            else:
                scope[alias.asname or alias.name] = Ref(f"{node.module}.{alias.name}")

    # ------------------------------------------------------------------ statements
    def _block(self, stmts: list[Any], scopes: list[dict[str, Binding]]) -> None:
        for stmt in stmts:
            self._stmt(stmt, scopes)

    def _in_function(self, scopes: list[dict[str, Binding]]) -> bool:
        return len(scopes) > 1 and not scopes[-1].get("<class>")

    def _stmt(self, node: Any, scopes: list[dict[str, Binding]]) -> None:
        judge = self.ex is not None
        if isinstance(node, ast.Import | ast.ImportFrom):
            self._import(node, scopes[-1])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if judge:
                for expr in (*node.decorator_list, *node.args.defaults, *node.args.kw_defaults):
                    self._expr(expr, scopes)
            scopes[-1][node.name] = self._local("def", node.name, node)
            if judge:
                assert self.ex is not None
                if self._in_function(scopes):
                    self.ex.done.add(id(node))
                    self._body(node, scopes)
                else:  # runs when called: judged with the names bound at the check
                    self.ex.deferred.append((node, self.cell, self.offset, self.via))
        elif isinstance(node, ast.ClassDef):
            self._class(node, scopes)
        elif isinstance(node, ast.Assign):
            self._expr(node.value, scopes)
            self._assign(node.targets, node.value, scopes)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            if node.value is not None:
                self._expr(node.value, scopes)
            if isinstance(node, ast.AnnAssign) and node.value is not None:
                self._assign([node.target], node.value, scopes)
            else:
                self._bind(node.target, None, scopes)
        elif isinstance(node, ast.For | ast.AsyncFor):
            self._expr(node.iter, scopes)
            self._bind(node.target, None, scopes)
            self._block(node.body + node.orelse, scopes)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                self._expr(item.context_expr, scopes)
                if item.optional_vars is not None:
                    self._bind(item.optional_vars, None, scopes)
            self._block(node.body, scopes)
        elif isinstance(node, ast.Try | ast.TryStar):
            self._block(node.body, scopes)
            for handler in node.handlers:
                if handler.name:
                    scopes[-1][handler.name] = None
                self._block(handler.body, scopes)
            self._block(node.orelse + node.finalbody, scopes)
        elif isinstance(node, ast.If | ast.While):
            self._expr(node.test, scopes)
            self._block(node.body + node.orelse, scopes)
        elif isinstance(node, ast.Match):
            self._expr(node.subject, scopes)
            for case in node.cases:
                for sub in ast.walk(case.pattern):
                    for attr in ("name", "rest"):
                        if isinstance(getattr(sub, attr, None), str):
                            scopes[-1][getattr(sub, attr)] = None
                if case.guard is not None:
                    self._expr(case.guard, scopes)
                self._block(case.body, scopes)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self._bind(target, None, scopes)
        elif isinstance(node, ast.Expr) and self._magic(node.value, scopes):
            pass
        else:  # Expr, Return, Raise, Assert, ...: their expressions
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(child, scopes)

    def _body(self, node: Any, scopes: list[dict[str, Binding]]) -> None:
        """Judge a function's (or lambda's) body in a scope of its own."""
        scope: dict[str, Binding] = {}
        args = node.args
        for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if a is not None:
                scope[a.arg] = None
        outer = [s for s in scopes if not s.get("<class>")]
        if isinstance(node, ast.Lambda):
            self._expr(node.body, [*outer, scope])
        else:
            self._block(node.body, [*outer, scope])

    def _class(self, node: ast.ClassDef, scopes: list[dict[str, Binding]]) -> None:
        bases = [self.resolve(b, scopes) for b in node.bases]
        if self.ex is not None:
            self.ex.classes.add(id(node))
            for expr in (*node.decorator_list, *(k.value for k in node.keywords)):
                self._expr(expr, scopes)
            for base in bases:
                for text in self._base_findings(base, set()):
                    self._hit(f"class {node.name} derives from {text}", node)
        local = self._local("class", node.name, node, bases)
        class_scope: dict[str, Binding] = {"<class>": Ref("<class>")}
        self._block(node.body, [*scopes, class_scope])
        scopes[-1][node.name] = local

    def _base_findings(self, base: Binding, seen: set[int]) -> list[str]:
        """What deriving from ``base`` (through the notebook's own classes) builds that the
        exercise rules out."""
        assert self.ex is not None
        if isinstance(base, Ref):
            forbidden = self.ex.forbidden
            verdict = forbidden.base_verdict(base.name) or forbidden.verdict(base.name)
            return [verdict] if verdict else []
        if isinstance(base, Local) and base.kind == "class" and id(base) not in seen:
            seen.add(id(base))
            return [t for b in base.bases for t in self._base_findings(b, seen)]
        return []

    # ------------------------------------------------------------------ expressions
    def _magic(self, call: Any, scopes: list[dict[str, Binding]]) -> bool:
        """``get_ipython().run_line_magic('time', 'code')`` (what IPython makes of ``%time``):
        run the code it holds; flag ``%run`` and ``%%writefile``. True when it was a magic."""
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in ("run_line_magic", "run_cell_magic")
            and isinstance(call.func.value, ast.Call)
            and isinstance(call.func.value.func, ast.Name)
            and call.func.value.func.id == "get_ipython"
        ):
            return False
        args = [a.value if isinstance(a, ast.Constant) else None for a in call.args]
        if not args or not isinstance(args[0], str):
            return True
        magic, cell_magic = args[0], call.func.attr == "run_cell_magic"
        code = args[2] if cell_magic and len(args) > 2 else args[1] if len(args) > 1 else None
        if magic in ("run", "writefile", "load", "script"):
            if self.ex is not None and self.ex.forbidden.active:
                self._hit(f"{DYNAMIC_LABEL}: %{'%' if cell_magic else ''}{magic}", call)
            return True
        if magic not in PY_MAGICS or not isinstance(code, str):
            return True
        if not cell_magic:
            code = _MAGIC_OPTIONS.sub("", code, count=1)
        try:
            tree = parse(code)
        except SyntaxError as err:
            if self.ex is not None:
                self._hit(f"unparsable code in %{magic}: {err.msg}", call)
            return True
        saved = self.offset
        self.offset += call.lineno - (0 if cell_magic else 1)
        try:
            self._block(tree.body, scopes)
        finally:
            self.offset = saved
        return True

    def _expr(self, node: Any, scopes: list[dict[str, Binding]]) -> None:
        if self.ex is None or node is None:
            return
        if isinstance(node, ast.Lambda):
            for default in (*node.args.defaults, *node.args.kw_defaults):
                self._expr(default, scopes)
            self.ex.done.add(id(node))
            self._body(node, scopes)
        elif isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            inner = [*scopes, {}]
            for gen in node.generators:
                self._expr(gen.iter, inner)
                self._bind(gen.target, None, inner)
                for cond in gen.ifs:
                    self._expr(cond, inner)
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
            for part in parts:
                self._expr(part, inner)
        elif isinstance(node, ast.NamedExpr):
            self._expr(node.value, scopes)
            self._assign([node.target], node.value, scopes)
        elif isinstance(node, ast.Call):
            self._call(node, scopes)
        elif isinstance(node, ast.Name | ast.Attribute):
            self._mention(node, scopes)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self._expr(child, scopes)

    def _inner_calls(self, node: Any, scopes: list[dict[str, Binding]]) -> None:
        """Judge what an attribute chain is read from, unless a plain name (``f(x).sum``)."""
        while isinstance(node, ast.Attribute):
            node = node.value
        if not isinstance(node, ast.Name):
            self._expr(node, scopes)

    def _mention(self, node: Any, scopes: list[dict[str, Binding]]) -> None:
        """A name used but not called here (passed on, stored): judged as if called."""
        assert self.ex is not None
        self._inner_calls(node, scopes)
        target = self.resolve(node, scopes)
        if isinstance(target, Ref):
            if isinstance(node, ast.Attribute) and node.attr == "__dict__":
                if isinstance(self.resolve(node.value, scopes), Ref):
                    self._dynamic("__dict__", node)
                return
            if target.name == "sys.modules" or target.name.startswith("sys.modules."):
                self._dynamic("sys.modules", node)
                return
            verdict = self.ex.forbidden.verdict(target.name)
            if verdict:
                self._hit(verdict, node)
        elif isinstance(target, Local):
            self._follow(target)

    def _dynamic(self, what: str, node: Any) -> None:
        assert self.ex is not None
        if self.ex.forbidden.active:
            self._hit(f"{DYNAMIC_LABEL}: {what}", node)

    def _call(self, node: ast.Call, scopes: list[dict[str, Binding]]) -> None:
        assert self.ex is not None
        forbidden = self.ex.forbidden
        func = self.resolve(node.func, scopes)
        args = [*node.args, *(k.value for k in node.keywords)]
        inspecting = False
        if isinstance(func, Ref):
            name = func.name
            inspecting = name in _INSPECTING
            if name in DYNAMIC:
                self._dynamic(DYNAMIC[name], node)
            elif name == "builtins.getattr" and len(node.args) >= 2:
                owner = self.resolve(node.args[0], scopes)
                if isinstance(owner, Ref):
                    whole = self.resolve(node, scopes)
                    verdict = forbidden.verdict(whole.name) if isinstance(whole, Ref) else None
                    if verdict:
                        self._hit(f"{verdict} via getattr", node)
                    elif whole is None:
                        self._dynamic(f"getattr({owner.name}, ...)", node)
            elif name == "builtins.vars" and node.args:
                if isinstance(self.resolve(node.args[0], scopes), Ref):
                    self._dynamic("vars", node)
            elif not isinstance(node.func, ast.Call):  # getattr(F, "x")(...): reported inside
                verdict = forbidden.verdict(name)
                if verdict:
                    self._hit(verdict, node)
        elif isinstance(func, Local):
            if func.kind == "class" and id(func.node) not in self.ex.classes:
                for text in self._base_findings(func, set()):
                    self._hit(f"{text} (built as class {func.name})", node)
            self._follow(func)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in forbidden.methods:
            self._hit(forbidden.methods[node.func.attr], node)
        self._inner_calls(node.func, scopes)
        for arg in args:
            arg = arg.value if isinstance(arg, ast.Starred) else arg
            if inspecting and isinstance(arg, ast.Name | ast.Attribute | ast.Tuple):
                continue
            self._expr(arg, scopes)
