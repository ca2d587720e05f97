"""The grader's end of the channel to a student's kernel: requests out, data back, with deadlines.

:class:`Channel` runs cells and serves the checkers' :class:`~coursecnn.checks._remote.RemoteObject`
calls; :func:`run_check` runs one check cell of the master in the grader's own process, with the
student's objects fetched through the channel, and returns its verdict.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import secrets
import select
import struct
import threading
import time
from typing import Any

from coursecnn.checks import _remote
from coursecnn.grading import codec
from coursecnn.grading._syntax import compile_tree, parse


class KernelGone(Exception):
    """The kernel stopped answering: it died, closed the channel, or sent garbage."""


class KernelTimeout(Exception):
    """The kernel did not answer in time."""


class Channel:
    """Requests to one kernel (``sandbox.Kernel``), each with a deadline of ``timeout`` seconds
    (and never past ``deadline``, a ``time.monotonic()`` value for the whole notebook)."""

    def __init__(self, kernel: Any, timeout: float, deadline: float) -> None:
        self.kernel, self.timeout, self.deadline = kernel, timeout, deadline
        self.buffer = bytearray()  # bytes of an answer not read whole yet
        self.pending = ""  # the nonce of the request whose answer has not come yet

    # -- frames -------------------------------------------------------------------------------
    def _fill(self, n: int, until: float) -> None:
        """Wait until the buffer holds ``n`` bytes; what arrived before a timeout stays there."""
        while len(self.buffer) < n:
            left = until - time.monotonic()
            if left <= 0:
                raise KernelTimeout()
            ready, _, _ = select.select([self.kernel.answers], [], [], left)
            if not ready:
                raise KernelTimeout()
            chunk = os.read(self.kernel.answers, 1 << 20)
            if not chunk:
                raise KernelGone("the kernel closed the channel (it exited or crashed)")
            self.buffer += chunk

    def receive(self, timeout: float | None = None) -> tuple[Any, list[bytes]]:
        """The next whole frame from the kernel (a partial one waits in the buffer)."""
        until = min(time.monotonic() + (timeout or self.timeout), self.deadline)
        self._fill(8, until)
        (size,) = struct.unpack(">Q", bytes(self.buffer[:8]))
        if size > codec.MAX_FRAME:
            raise KernelGone(f"the kernel sent a frame of {size} bytes")
        self._fill(8 + size, until)
        frame = bytes(self.buffer[: 8 + size])
        del self.buffer[: 8 + size]
        try:
            return codec.read_frame(io.BytesIO(frame))
        except (codec.CodecError, EOFError) as err:
            raise KernelGone(f"the kernel sent a malformed answer ({err})") from None

    def interrupt(self, wait: float = 10) -> bool:
        """After a timeout: interrupt the kernel (SIGINT, as JupyterLab's stop button does) and
        take the late answer to the request that timed out. False when it does not come: the
        kernel must then be stopped."""
        if not self.pending or not self.kernel.interrupt():
            return False
        until = time.monotonic() + wait
        while time.monotonic() < until:
            try:
                answer, _ = self.receive(max(0.1, until - time.monotonic()))
            except (KernelTimeout, KernelGone):
                return False
            if isinstance(answer, dict) and answer.get("nonce") == self.pending:
                self.pending = ""
                return True
        return False

    def request(self, header: dict, blobs: list[bytes] | None = None,
                timeout: float | None = None) -> tuple[Any, list[bytes]]:  # fmt: skip
        nonce = secrets.token_hex(16)  # a forged answer written ahead of time cannot know it
        frame = codec.pack({**header, "nonce": nonce}, blobs or [])
        try:
            view = memoryview(frame)
            while view:
                written = os.write(self.kernel.requests, view)
                view = view[written:]
        except OSError as err:
            raise KernelGone(f"the kernel is not listening ({err.strerror})") from None
        self.pending = nonce
        answer, out = self.receive(timeout)
        self.pending = ""
        if not isinstance(answer, dict) or answer.get("nonce") != nonce:
            raise KernelGone("the kernel's answer does not match the request (forged?)")
        return answer, out

    def decode(self, header: Any, blobs: list[bytes], check: str) -> Any:
        def proxy(h: dict) -> _remote.RemoteObject:
            handle = codec.Handle(int(h["id"]), str(h.get("type"))[:200], str(h.get("text"))[:200])
            return _remote.RemoteObject(self, handle, check)

        try:
            return codec.Decoder(blobs, handle=proxy)(header)
        except codec.CodecError as err:
            raise TypeError(f"the kernel's answer is not data this check accepts: {err}") from None

    def answer(self, header: Any, blobs: list[bytes], check: str, args: tuple = (),
               kwargs: dict | None = None) -> dict:  # fmt: skip
        """The data of an answer; first, what became of ``args`` and ``kwargs`` is copied back
        into them, then what the student's code raised is raised here."""
        if not isinstance(header, dict):
            raise KernelGone("the kernel sent an answer that is not a record")
        data = self.decode(header.get("data", {"$": "dict", "v": {}}), blobs, check)
        if not isinstance(data, dict):
            raise KernelGone("the kernel sent an answer without data")
        for original, after in zip(args, data.get("after") or [], strict=False):
            copy_back(original, after)
        for key, after in (data.get("kw_after") or {}).items():
            if key in (kwargs or {}):
                copy_back(kwargs[key], after)
        if "raised" in header:
            _remote.reraise(str(header["raised"])[:80], str(header.get("message", ""))[:20000])
        return data

    # -- the operations ---------------------------------------------------------------------
    def ready(self, timeout: float) -> None:
        header, _ = self.receive(timeout)
        if not isinstance(header, dict) or not header.get("ready"):
            raise KernelGone("the kernel did not start")
        if isinstance(header.get("pid"), int):
            self.kernel.kernel_ns_pid = header["pid"]

    def run_cell(self, source: str) -> tuple[bool, str]:
        header, _ = self.request({"op": "run", "source": source})
        if not isinstance(header, dict):
            raise KernelGone("the kernel sent an answer that is not a record")
        if "raised" in header:  # the shell itself failed
            return False, f"{header['raised']}: {header.get('message', '')}"[:300]
        return bool(header.get("ok")), str(header.get("error", ""))[:2000]

    def get(self, name: str, check: str) -> Any:
        header, blobs = self.request({"op": "get", "name": name})
        return self.answer(header, blobs, check)["value"]

    def _send(self, op: str, check: str, data: dict, extra: dict | None = None,
              args: tuple = (), kwargs: dict | None = None) -> dict:  # fmt: skip
        def keep(obj: Any) -> codec.Handle:
            if isinstance(obj, _remote.RemoteObject) and obj._channel is self:
                return obj._handle
            raise codec.CodecError(f"a {type(obj).__name__} cannot be sent to the kernel")

        try:
            head, blobs = codec.encode(data, keep=keep, objects=codec.GRADER_OBJECTS)
        except codec.CodecError as err:
            raise TypeError(f"the check cannot send its arguments: {err}") from None
        header, blobs = self.request({"op": op, "check": check, "data": head, **(extra or {})},
                                     blobs)  # fmt: skip
        return self.answer(header, blobs, check, args, kwargs)

    def call(self, check: str, target: _remote.RemoteObject, args: tuple, kwargs: dict,
             audit: bool) -> Any:  # fmt: skip
        check = check or target._check
        data = {"target": target, "args": list(args), "kwargs": dict(kwargs)}
        return self._send("call", check, data, {"audit": audit}, args, kwargs).get("value")

    def getattr(self, target: _remote.RemoteObject, name: str) -> Any:
        out = self._send("getattr", target._check, {"target": target}, {"name": name})
        return out.get("value")

    def observe(self, check: str, name: str, args: tuple, kwargs: dict) -> Any:
        out = self._send("observe", check, {"args": list(args), "kwargs": dict(kwargs)},
                         {"name": name})  # fmt: skip
        return out.get("value")

    def report(self) -> dict:
        try:
            header, blobs = self.request({"op": "report"}, timeout=10)
            return self.answer(header, blobs, "")
        except Exception:  # whatever the kernel sends here only informs
            return {}

    def close(self) -> None:
        with contextlib.suppress(OSError, KernelGone):
            os.write(self.kernel.requests, codec.pack({"op": "exit"}, []))


def copy_back(original: Any, after: Any) -> None:
    """Make the grader's ``original`` argument what the kernel's copy became during the call."""
    import numpy as np
    import torch

    if after is None:
        return
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.flags.writeable:
            np.copyto(original, after.astype(original.dtype, copy=False))
    elif isinstance(original, torch.Tensor) and isinstance(after, torch.Tensor):
        if original.shape == after.shape:
            with torch.no_grad():
                original.copy_(after.to(original.dtype))
    elif isinstance(original, torch.nn.Module) and isinstance(after, dict):
        _copy_module(original, after)
    elif isinstance(original, np.random.Generator) and isinstance(after, np.random.Generator):
        original.bit_generator.state = after.bit_generator.state


def _copy_module(original: Any, after: dict) -> None:
    """Values, gradients, ``requires_grad``, buffers and modes; hooks as many as the kernel's
    copy holds (no-op stand-ins: a check counts them, nothing runs them to any effect)."""
    import torch

    from coursecnn.grading.codec import _HOOKS

    mods = dict(original.named_modules())
    for name, training in (after.get("training") or {}).items():
        if name in mods and isinstance(training, bool):
            mods[name].training = training
    for name, counts in (after.get("hooks") or {}).items():
        m = mods.get(name)
        for hook, n in (counts or {}).items() if m is not None else []:
            held = getattr(m, hook, None) if hook in _HOOKS else None
            while held is not None and isinstance(n, int) and len(held) < min(n, 100):
                held[max(held, default=0) + 1] = _stand_in
    params = after.get("params") or {}
    grads = after.get("grads") or {}
    wants = after.get("requires_grad") or {}
    buffers = after.get("buffers") or {}
    with torch.no_grad():
        for name, p in original.named_parameters():
            q = params.get(name)
            if isinstance(q, torch.Tensor) and q.shape == p.shape:
                p.copy_(q)
            if isinstance(wants.get(name), bool):
                p.requires_grad_(wants[name])
            g = grads.get(name)
            p.grad = g.clone() if isinstance(g, torch.Tensor) and g.shape == p.shape else None
        for name, b in original.named_buffers():
            c = buffers.get(name)
            if isinstance(c, torch.Tensor) and isinstance(b, torch.Tensor) and c.shape == b.shape:
                b.copy_(c)


def _stand_in(*args: Any, **kwargs: Any) -> None:
    return None


# ------------------------------------------------------------------------------ check cells


def master_imports(sources: list[str]) -> dict[str, Any]:
    """The grader's namespace for a master's check cells: every top-level ``import`` of the
    master's code cells, run here (the checker modules, ``np``, ``torch``, ...); nothing else."""
    from IPython.core.inputtransformer2 import TransformerManager

    namespace: dict[str, Any] = {"__name__": "__coursecnn_check__"}
    transform = TransformerManager().transform_cell
    for source in sources:
        try:
            tree = parse(transform(source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                with contextlib.suppress(Exception):
                    exec(compile_tree(ast.Module([node], []), "<master imports>"), namespace)
    return namespace


class KernelNames(dict):
    """Names a check cell reads: the master's imports here, anything else fetched from the
    kernel (as data, or a ``RemoteObject``), once per cell."""

    def __init__(self, channel: Channel, imports: dict[str, Any], check: str) -> None:
        super().__init__()
        self.channel, self.imports, self.check = channel, imports, check

    def __missing__(self, name: str) -> Any:
        import builtins

        if name in self.imports or hasattr(builtins, name):
            raise KeyError(name)  # Python then reads the globals (the imports) or the builtins
        try:
            value = self.channel.get(name, self.check)
        except NameError:
            raise KeyError(name) from None
        self[name] = value
        return value


_PRINT_LOCK = threading.Lock()


def run_check(channel: Channel, imports: dict[str, Any], source: str,
              check: str) -> tuple[bool, str, str]:  # fmt: skip
    """Run one check cell of the master in this process, against the kernel's objects:
    ``(passed, reason, printed)``. ``KernelGone`` and ``KernelTimeout`` pass through: the
    notebook cannot go on."""
    from IPython.core.inputtransformer2 import TransformerManager

    from coursecnn.checks._report import CheckFailed

    printed = io.StringIO()
    token = _remote.ACTIVE.set(channel)
    try:
        code = compile(TransformerManager().transform_cell(source), "<check cell>", "exec")
        with _PRINT_LOCK, contextlib.redirect_stdout(printed):
            exec(code, dict(imports), KernelNames(channel, imports, check))
        return True, "passed", printed.getvalue()
    except (KernelGone, KernelTimeout):
        raise
    except CheckFailed as err:
        return False, one_line("CheckFailed", str(err)), printed.getvalue()
    except _remote.StudentError as err:
        return False, one_line("", str(err)), printed.getvalue()
    except Exception as err:
        return False, one_line(type(err).__name__, str(err)), printed.getvalue()
    finally:
        _remote.ACTIVE.reset(token)


def one_line(kind: str, message: str, width: int = 300) -> str:
    """A reason on one line: ``Kind: message``, keeping the likely mistake of a long message."""
    import re

    text = " ".join(message.split())
    mistake = re.search(r"likely mistake:\s*(.*)", text)
    if mistake and len(text) > 200:
        head = text[: text.find("expected:")].strip() if "expected:" in text else ""
        text = f"{head} likely mistake: {mistake.group(1)}".strip()
    return (f"{kind}: {text}" if kind else text)[:width].rstrip()
