"""The student's kernel when grading: ``python -m coursecnn.grading.kernel``, inside the sandbox.

An IPython shell (the one ``ipykernel`` wraps) that runs the notebook's cells one at a time on the
grader's request and serves the grader's checks: it fetches globals, calls the student's functions
and classes under the exercise's rules, and runs the package's observers, answering with data
only (:mod:`coursecnn.grading.codec`). Requests come on file descriptor 0, answers go to the file
descriptor ``COURSECNN_CHANNEL_FD`` names; both are moved out of the way before any student code runs, and what the cells print
goes to stdout and stderr, which the grader reads, capped. Nothing here decides a point: the
grader does, from the data.

What this process sends is the student's answer and nothing more: the student's code runs in it
and may rewrite anything here (the guard included), or even answer a request itself. So the
grader trusts no answer beyond its data: requests carry a random nonce (an answer written ahead
of time cannot know it), expected values and hidden inputs never come here except as the
arguments of one call, and a student who computes an answer in this process by calling the
course's reference gains what a correct function would; the grader's scan of the solution cells
(``coursecnn.grading.shortcuts``) flags the calls it can see, for review.

Limits are set here before the first cell, from ``COURSECNN_LIMITS`` (JSON: ``memory``,
``processes``, ``file_size``, ``cpu`` as hard ``setrlimit`` limits that the student's code cannot
raise).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from typing import Any

from coursecnn.grading import codec

_LIMITS = {
    "memory": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "file_size": resource.RLIMIT_FSIZE,
    "cpu": resource.RLIMIT_CPU,
}


def set_limits(spec: dict[str, int]) -> None:
    """Hard resource limits for this process and every process it starts."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, value in spec.items():
        if key in _LIMITS and value:
            resource.setrlimit(_LIMITS[key], (int(value), int(value)))


class Kernel:
    """The objects handed out as handles, and the shell that runs the cells."""

    def __init__(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        class GradingShell(InteractiveShell):
            """IPython without a front end: ``%matplotlib inline`` has no event loop to start."""

            def enable_gui(self, gui: Any = None) -> None:
                return None

        self.shell = GradingShell.instance()
        self.objects: dict[int, Any] = {}
        self.network: list[str] = []
        self.rules_loaded = False

    # -- handles --------------------------------------------------------------------------
    def keep(self, obj: Any) -> codec.Handle:
        key = len(self.objects) + 1
        self.objects[key] = obj
        cls = type(obj)
        try:
            text = repr(obj)
        except Exception:  # a student's __repr__ may raise
            text = f"<{cls.__name__}>"
        name = getattr(obj, "__qualname__", None) if callable(obj) else None
        return codec.Handle(key, f"{cls.__module__}:{cls.__qualname__}", name or text[:120])

    def lookup(self, h: dict) -> Any:
        key = int(h["id"])
        if key not in self.objects:
            raise ValueError(f"handle: no object {key} in this kernel")
        return self.objects[key]

    def decode(self, header: Any, blobs: list[bytes]) -> Any:
        # The grader is trusted: it may send any of its checkers' helper functions as references.
        dec = codec.Decoder(blobs, handle=self.lookup, objects=codec.GRADER_OBJECTS,
                            refs=codec.REF_MODULES + ("coursecnn.checks.",))  # fmt: skip
        return dec(header)

    # -- requests ---------------------------------------------------------------------------
    def run(self, req: dict) -> dict:
        result = self.shell.run_cell(req["source"], store_history=True)
        err = result.error_before_exec or result.error_in_exec
        if err is None:
            return {"ok": True}
        return {"ok": False, "error": f"{type(err).__name__}: {err}"[:2000]}

    def get(self, req: dict) -> Any:
        if req["name"] not in self.shell.user_ns:
            return {"raised": "NameError", "message": f"name {req['name']!r} is not defined"}
        return {"value": self.shell.user_ns[req["name"]]}

    def getattr(self, req: dict, target: Any) -> Any:
        return {"value": getattr(target, req["name"])}

    def call(self, req: dict, target: Any, args: list, kwargs: dict) -> Any:
        from coursecnn.checks import _guard
        from coursecnn.checks._report import call_student

        check = req.get("check") or ""
        if not self.rules_loaded:
            from coursecnn.checks.rules import all_rules

            all_rules()
            self.rules_loaded = True
        try:
            if check not in _guard.RULES:  # a check cell of plain asserts: no rules declared
                value = target(*args, **kwargs)
            elif req.get("audit"):
                value = call_student(check, target, *args, **kwargs)
            else:
                with _guard.student_code(check):
                    value = target(*args, **kwargs)
        except BaseException as err:  # the grader still learns what became of its arguments
            err.coursecnn_after = _after(args, kwargs)  # type: ignore[attr-defined]
            raise
        return {"value": value, **_after(args, kwargs)}

    def observe(self, req: dict, args: list, kwargs: dict) -> Any:
        import importlib

        from coursecnn.checks import _remote

        name = req["name"]
        module = name.partition(":")[0]
        if not module.startswith("coursecnn.checks."):
            raise ValueError(f"observe: {name!r} is not a checker's observer")
        importlib.import_module(module)
        func = _remote.OBSERVERS.get(name)
        if func is None:
            raise ValueError(f"observe: {name!r} is not a registered observer")
        return {"value": func(*args, **kwargs)}

    def handle(self, header: Any, blobs: list[bytes]) -> Any:
        op = header.get("op")
        if op == "run":
            return self.run(header)
        if op == "get":
            return self.get(header)
        if op == "report":
            return {"network": self.network[:20]}
        data = self.decode(header.get("data"), blobs)
        if op == "getattr":
            return self.getattr(header, data["target"])
        if op == "call":
            return self.call(header, data["target"], data["args"], data["kwargs"])
        if op == "observe":
            return self.observe(header, data["args"], data["kwargs"])
        raise ValueError(f"op: unknown request {op!r:.40}")


#: The parts of an answer that are values (encoded as data); the rest is plain JSON.
_VALUES = ("value", "after", "kw_after", "network")


def _after(args: list, kwargs: dict) -> dict:
    return {"after": [_mutable(a) for a in args],
            "kw_after": {k: _mutable(v) for k, v in kwargs.items()}}  # fmt: skip


def _mutable(value: Any) -> Any:
    """What the grader copies back into its own copy of an argument after the call: arrays,
    tensors and random generators as they are; a module as its state (values, gradients,
    modes, hook counts), which is data even when the student's code left a hook on it."""
    import numpy as np
    import torch

    if isinstance(value, torch.nn.Module):
        try:
            return {
                "module_after": True,
                "training": {n: m.training for n, m in value.named_modules()},
                "hooks": {
                    n: {h: len(getattr(m, h, {}) or {}) for h in codec._HOOKS}
                    for n, m in value.named_modules()
                },  # fmt: skip
                "params": {n: p.detach() for n, p in value.named_parameters()},
                "requires_grad": {n: p.requires_grad for n, p in value.named_parameters()},
                "grads": {
                    n: p.grad.detach() for n, p in value.named_parameters() if p.grad is not None
                },  # fmt: skip
                "buffers": {n: b.detach() for n, b in value.named_buffers()},
            }
        except Exception:  # a student's module that cannot even list itself
            return None
    if isinstance(value, np.ndarray | torch.Tensor | np.random.Generator):
        return value
    return None


def _audit_network(kernel: Kernel) -> None:
    def hook(event: str, args: tuple) -> None:
        if (
            event in ("socket.connect", "socket.getaddrinfo", "socket.sendto")
            and len(kernel.network) < 100
        ):
            target = args[1] if event != "socket.getaddrinfo" else args[0]
            kernel.network.append(f"{event} {str(target)[:80]}")

    sys.addaudithook(hook)


def serve() -> None:
    """Answer the grader's requests until it says ``exit`` or the channel closes."""
    fd = int(os.environ.pop("COURSECNN_CHANNEL_FD", "3"))
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(fd), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(fd)
    set_limits(json.loads(os.environ.pop("COURSECNN_LIMITS", "{}") or "{}"))
    kernel = Kernel()
    _audit_network(kernel)
    answers.write(codec.pack({"ready": True, "pid": os.getpid()}, []))
    while True:
        try:
            header, blobs = codec.read_frame(requests)
        except EOFError:
            return
        if not isinstance(header, dict) or header.get("op") == "exit":
            return
        try:
            reply = kernel.handle(header, blobs)
        except BaseException as err:  # what the student's code raised, sent back as words
            if isinstance(err, SystemExit | KeyboardInterrupt) and header.get("op") != "call":
                reply = {"raised": type(err).__name__, "message": str(err)[:2000]}
            else:
                msg = str(err)
                if type(err).__name__ not in ("CheckFailed", "ForbiddenCall"):
                    msg = msg[:2000]
                reply = {"raised": type(err).__name__, "message": msg,
                         "trace": traceback.format_exc(limit=-3)[-1500:]}  # fmt: skip
                reply.update(getattr(err, "coursecnn_after", None) or {})
        sys.stdout.flush()
        sys.stderr.flush()
        values = {k: reply.pop(k) for k in _VALUES if k in reply}
        try:
            data, out = codec.encode(values, keep=kernel.keep)
            reply["data"] = data
        except Exception as err:  # never let an answer that cannot be sent stop the kernel
            reply, out = {"raised": "TypeError", "message": f"cannot be sent: {err}"}, []
        reply["nonce"] = header.get("nonce")
        answers.write(codec.pack(reply, out))


if __name__ == "__main__":
    serve()
