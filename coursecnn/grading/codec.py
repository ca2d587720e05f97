"""Data-only serialisation for the grader's channel to a student's kernel; never pickle.

A message is one frame: an 8-byte length, then a JSON header, then the raw bytes of every array it
holds. What crosses is data: ``None``, booleans, numbers, strings, lists, tuples, dicts (any data
as keys), NumPy arrays and scalars of numeric or boolean dtype, torch tensors (sent as arrays),
``torch.Size``, NumPy random generators (their state), and objects of *allowed* classes whose state
is data: a torch module made of ``torch.nn`` layers or the course's models (class name, plain
attributes, parameters, buffers, children, mode), or a course object such as ``History``. A module
of the student's own class is not data: the kernel keeps it and sends a *handle* (a number, the
class's name and a short repr) through which the grader can call it.

Decoding trusts nothing: every class is looked up by name among the allowed modules only and
rebuilt without running its ``__init__``; dtypes come from a fixed list; sizes are capped.
"""

from __future__ import annotations

import importlib
import json
import math
import struct
from collections import OrderedDict
from typing import Any, BinaryIO

import numpy as np

#: Largest frame accepted (header and arrays together).
MAX_FRAME = 256 << 20
MAX_HEADER = 64 << 20
MAX_DEPTH = 64
DTYPES = {
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
}  # fmt: skip
#: Classes whose objects may be rebuilt from data: a module name, or a prefix ending in ".".
OBJECT_MODULES = ("torch.nn.modules.", "coursecnn.models.", "coursecnn.train.history")
#: Functions that may be named as references (a model's activation kept as an attribute): torch's
#: functional layer functions and a few elementwise ones; nothing that reads or writes files.
REF_MODULES = ("torch.nn.functional",)
SAFE_REFS = frozenset({"torch:tanh", "torch:sigmoid", "torch:relu", "torch:abs", "torch:exp"})
_PLAIN = (bool, int, float, str, type(None))
#: What the grader may send the kernel besides: the checkers' own small modules.
GRADER_OBJECTS = (*OBJECT_MODULES, "coursecnn.checks.")
#: ... and functions of the checkers as references (a function to differentiate, say).
GRADER_REFS = (*REF_MODULES, "coursecnn.checks.")


class CodecError(ValueError):
    """A message that is not data, or not well formed."""


class Handle:
    """What stands for an object that stays in the kernel: ``id``, its class name, a short repr."""

    def __init__(self, id: int, type: str, text: str) -> None:
        self.id, self.type, self.text = id, type, text

    def __repr__(self) -> str:
        return f"<{self.type} in the student's kernel: {self.text}>"


def _qualname(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    module = name.partition(":")[0]
    return any(module.startswith(p) if p.endswith(".") else module == p for p in prefixes)


def lookup(name: str, prefixes: tuple[str, ...]) -> Any:
    """The object ``"module:qualname"`` names, if its module is allowed; else ``CodecError``."""
    if not isinstance(name, str) or ":" not in name or not _allowed(name, prefixes):
        raise CodecError(f"name: expected an allowed 'module:qualname', got {name!r:.80}")
    module, _, qualname = name.partition(":")
    if any(part.startswith("_") and part != "__init__" for part in qualname.split(".")[:-1]):
        raise CodecError(f"name: private path {name!r:.80}")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise CodecError(f"name: cannot find {name!r:.80} ({err})") from None
    return obj


class Encoder:
    """Turns a value into a JSON-able header and a list of array buffers.

    ``keep``: called with an object that is not data; returns a :class:`Handle` for it (the kernel
    keeps the object), or ``None`` to refuse it with ``CodecError``.
    """

    def __init__(self, keep: Any = None, objects: tuple[str, ...] = OBJECT_MODULES) -> None:
        self.keep, self.objects = keep, objects
        self.blobs: list[bytes] = []
        self.seen: dict[int, int] = {}  # id(object) -> its number, so that it is sent once
        self.count = 0
        self.alive: list[Any] = []  # keeps the encoded objects alive while ids are compared

    def array(self, a: np.ndarray, torch: bool = False, extra: dict | None = None) -> dict:
        if a.dtype.name not in DTYPES:
            raise CodecError(f"array: dtype {a.dtype} is not one of the data types sent")
        self.blobs.append(a.tobytes(order="C"))  # 0-d arrays stay 0-d
        out = {"$": "tensor" if torch else "array", "i": len(self.blobs) - 1,
               "dtype": a.dtype.name, "shape": list(a.shape)}  # fmt: skip
        if extra:
            out.update(extra)
        return out

    def __call__(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise CodecError("value: nested too deeply")
        if isinstance(value, bool | str | type(None)):
            return value
        if isinstance(value, int):
            return value if abs(value) < 2**53 else {"$": "int", "v": str(value)}
        if isinstance(value, float):
            return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
        if isinstance(value, np.generic):
            return {"$": "scalar", "a": self.array(np.asarray(value))}
        if isinstance(value, np.ndarray):
            return self.array(value)
        mod = type(value).__module__
        if mod.startswith("torch"):
            enc = self._torch(value, depth)
            if enc is not None:
                return enc
        if isinstance(value, np.random.Generator):
            state = value.bit_generator.state
            return {"$": "rng", "name": type(value.bit_generator).__name__,
                    "state": self(state, depth + 1)}  # fmt: skip
        if isinstance(value, list):
            return [self(v, depth + 1) for v in value]
        if isinstance(value, tuple) and type(value) is tuple:
            return {"$": "tuple", "v": [self(v, depth + 1) for v in value]}
        if isinstance(value, dict) and type(value) in (dict, OrderedDict):
            if all(type(k) is str for k in value):
                return {"$": "dict", "v": {k: self(v, depth + 1) for k, v in value.items()}}
            return {"$": "pairs", "v": [[self(k, depth + 1), self(v, depth + 1)]
                                        for k, v in value.items()]}  # fmt: skip
        if isinstance(value, set | frozenset):
            return {"$": "set", "v": [self(v, depth + 1) for v in value]}
        if _is_ref(value, self.objects):
            return {"$": "ref", "name": _qualname(value) if isinstance(value, type)
                    else f"{value.__module__}:{value.__qualname__}"}  # fmt: skip
        if id(value) in self.seen:
            return {"$": "alias", "oid": self.seen[id(value)]}
        obj = self._object(value, depth)
        if obj is not None:
            return obj
        return self._handle(value)

    def _handle(self, value: Any) -> dict:
        handle = self.keep(value) if self.keep is not None else None
        if handle is None:
            raise CodecError(f"value: a {_qualname(value)} is not data and cannot be sent")
        return {"$": "handle", "id": handle.id, "type": handle.type, "text": handle.text}

    def _torch(self, value: Any, depth: int) -> Any:
        import torch

        if isinstance(value, torch.Size):
            return {"$": "tuple", "v": [int(v) for v in value]}
        if isinstance(value, torch.dtype):
            return {"$": "dtype", "v": str(value).removeprefix("torch.")}
        if isinstance(value, torch.Tensor):
            t = value.detach()
            if t.is_sparse or t.layout != torch.strided:
                raise CodecError("tensor: only dense tensors are sent")
            extra = {"param": isinstance(value, torch.nn.Parameter),
                     "rg": bool(value.requires_grad)}  # fmt: skip
            if t.dtype == torch.bfloat16:
                t, extra["dt"] = t.float(), "bfloat16"
            enc = self.array(t.cpu().numpy(), torch=True, extra=extra)
            if value.grad is not None and isinstance(value, torch.nn.Parameter):
                enc["grad"] = self(value.grad, depth + 1)
            return enc
        return None

    def _object(self, value: Any, depth: int) -> Any:
        name = _qualname(value)
        if not _allowed(name, self.objects) or not hasattr(value, "__dict__"):
            return None

        oid = self.count
        self.count += 1
        self.seen[id(value)] = oid
        self.alive.append(value)
        out = self._object_state(value, name, depth)
        if out is None:
            del self.seen[id(value)]
            return None
        out["oid"] = oid
        return out

    def _object_state(self, value: Any, name: str, depth: int) -> Any:
        import torch

        state: dict[str, Any] = {}
        if isinstance(value, torch.nn.Module):
            if any(len(getattr(value, h, {}) or {}) for h in _HOOKS):
                return None  # hooks are code: the module stays in the kernel
            try:
                params = {k: self(v, depth + 1) for k, v in value._parameters.items()}
                buffers = {k: self(v, depth + 1) for k, v in value._buffers.items()}
                children = {k: self(v, depth + 1) for k, v in value._modules.items()}
            except CodecError:
                return None
            if any(isinstance(c, dict) and c.get("$") == "handle" for c in children.values()):
                return None
            state = {"params": params, "buffers": buffers, "children": children,
                     "training": bool(value.training),
                     "nonpersistent": sorted(value._non_persistent_buffers_set)}  # fmt: skip
            skip = _MODULE_SLOTS
        else:
            skip = set()
        attrs = {}
        for k, v in vars(value).items():
            if k in skip or k.startswith("__"):
                continue
            if not _is_data(v, depth, self.objects):
                return None
            attrs[k] = self(v, depth + 1)
        state["attrs"] = attrs
        return {"$": "object", "cls": name, "state": state}


_HOOKS = (
    "_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
    "_state_dict_hooks", "_load_state_dict_pre_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_post_hooks",
)  # fmt: skip
_MODULE_SLOTS = {
    "training", "_parameters", "_buffers", "_non_persistent_buffers_set", "_modules",
    "_backward_pre_hooks", "_backward_hooks", "_is_full_backward_hook", "_forward_hooks",
    "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
    "_forward_pre_hooks_with_kwargs", "_state_dict_hooks", "_state_dict_pre_hooks",
    "_load_state_dict_pre_hooks", "_load_state_dict_post_hooks", "_compiled_call_impl",
}  # fmt: skip


def _is_ref(value: Any, objects: tuple[str, ...] = OBJECT_MODULES) -> bool:
    import types

    if not isinstance(value, types.FunctionType | types.BuiltinFunctionType | type):
        return False
    module = getattr(value, "__module__", None) or ""
    qual = getattr(value, "__qualname__", "")
    if "<" in qual:
        return False
    refs = GRADER_REFS if objects == GRADER_OBJECTS else REF_MODULES
    name = f"{module}:{qual}"
    return name in SAFE_REFS or _allowed(name, refs) or _allowed(f"{module}:x", objects)


def _is_data(v: Any, depth: int, objects: tuple[str, ...] = OBJECT_MODULES) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(v, (*_PLAIN, np.generic, np.ndarray)):
        return True
    if type(v).__module__.startswith("torch") and type(v).__name__ in ("Size", "dtype", "Tensor"):
        return True
    if isinstance(v, list | tuple | set | frozenset):
        return all(_is_data(x, depth + 1, objects) for x in v)
    if isinstance(v, dict):
        return all(
            _is_data(k, depth + 1, objects) and _is_data(x, depth + 1, objects)
            for k, x in v.items()
        )
    if _is_ref(v, objects):
        return True
    return _allowed(_qualname(v), objects) and hasattr(v, "__dict__")


class Decoder:
    """Rebuilds a value from a header and its array buffers.

    ``objects``: module prefixes whose classes may be rebuilt; ``refs``: prefixes that references
    may name; ``handle``: called with a decoded handle dict (the grader makes a proxy of it; the
    kernel looks the object up).
    """

    def __init__(self, blobs: list[bytes], handle: Any = None,
                 objects: tuple[str, ...] = OBJECT_MODULES,
                 refs: tuple[str, ...] = REF_MODULES) -> None:  # fmt: skip
        self.blobs, self.handle, self.objects, self.refs = blobs, handle, objects, refs
        self.made: dict[int, Any] = {}  # object number -> object, for aliases

    def array(self, d: dict) -> np.ndarray:
        dtype, shape, i = d.get("dtype"), d.get("shape"), d.get("i")
        if dtype not in DTYPES or not isinstance(i, int) or not 0 <= i < len(self.blobs):
            raise CodecError(f"array: bad dtype or buffer ({dtype!r:.20}, {i!r:.20})")
        if not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
            raise CodecError("array: bad shape")
        buf = self.blobs[i]
        dt = np.dtype(dtype)
        if math.prod(shape) * dt.itemsize != len(buf):
            raise CodecError("array: the buffer does not hold its shape")
        return np.frombuffer(buf, dtype=dt).reshape(shape).copy()

    def __call__(self, v: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise CodecError("value: nested too deeply")
        if isinstance(v, _PLAIN):
            return v
        if isinstance(v, list):
            return [self(x, depth + 1) for x in v]
        if not isinstance(v, dict):
            raise CodecError(f"value: unexpected {type(v).__name__}")
        kind = v.get("$")
        if kind == "array":
            return self.array(v)
        if kind == "scalar":
            return self.array(v["a"])[()]
        if kind == "tensor":
            return self._tensor(v, depth)
        if kind == "int":
            return int(v["v"])
        if kind == "float":
            return float(v["v"]) if v["v"] in ("nan", "inf", "-inf") else _bad(v)
        if kind == "tuple":
            return tuple(self(x, depth + 1) for x in v["v"])
        if kind == "set":
            return {self(x, depth + 1) for x in v["v"]}
        if kind == "dict":
            return {str(k): self(x, depth + 1) for k, x in v["v"].items()}
        if kind == "pairs":
            return {_hashable(self(k, depth + 1)): self(x, depth + 1) for k, x in v["v"]}
        if kind == "dtype":
            import torch

            dt = getattr(torch, str(v["v"]), None)
            return dt if isinstance(dt, torch.dtype) else _bad(v)
        if kind == "rng":
            bits = lookup(f"numpy.random:{v['name']}", ("numpy.random",))
            if not (isinstance(bits, type) and issubclass(bits, np.random.BitGenerator)):
                _bad(v)
            gen = np.random.Generator(bits())
            gen.bit_generator.state = self(v["state"], depth + 1)
            return gen
        if kind == "ref":
            if v.get("name") in SAFE_REFS:
                return lookup(v["name"], ("torch",))
            return lookup(v["name"], self.refs + self.objects)
        if kind == "object":
            return self._object(v, depth)
        if kind == "alias":
            if v.get("oid") not in self.made:
                _bad(v)
            return self.made[v["oid"]]
        if kind == "handle":
            if self.handle is None:
                raise CodecError("value: a handle where none is expected")
            return self.handle(v)
        return _bad(v)

    def _tensor(self, v: dict, depth: int) -> Any:
        import torch

        t = torch.from_numpy(self.array(v))
        if v.get("dt") == "bfloat16":
            t = t.to(torch.bfloat16)
        if v.get("param"):
            t = torch.nn.Parameter(t, requires_grad=bool(v.get("rg")))
            if "grad" in v:
                t.grad = self(v["grad"], depth + 1)
        elif v.get("rg") and t.is_floating_point():
            t.requires_grad_(True)
        return t

    def _object(self, v: dict, depth: int) -> Any:
        import torch

        cls = lookup(v.get("cls"), self.objects)
        if not isinstance(cls, type):
            _bad(v)
        state = v.get("state") or {}
        obj = cls.__new__(cls)
        if isinstance(v.get("oid"), int):
            self.made[v["oid"]] = obj
        if issubclass(cls, torch.nn.Module):
            torch.nn.Module.__init__(obj)
            for k, p in (state.get("params") or {}).items():
                obj._parameters[str(k)] = self(p, depth + 1)
            for k, b in (state.get("buffers") or {}).items():
                obj._buffers[str(k)] = self(b, depth + 1)
            obj._non_persistent_buffers_set = {str(n) for n in state.get("nonpersistent", [])}
            for k, c in (state.get("children") or {}).items():
                child = self(c, depth + 1)
                if child is not None and not isinstance(child, torch.nn.Module):
                    _bad(v)
                obj._modules[str(k)] = child
            obj.training = bool(state.get("training", True))
        for k, x in (state.get("attrs") or {}).items():
            k = str(k)
            if k.startswith("__") or (isinstance(obj, torch.nn.Module) and k in _MODULE_SLOTS):
                _bad(v)
            if callable(getattr(cls, k, None)):  # no attribute may stand in for a method
                _bad(v)
            object.__setattr__(obj, k, self(x, depth + 1))
        return obj


def _hashable(k: Any) -> Any:
    if isinstance(k, list):
        return tuple(_hashable(x) for x in k)
    return k


def _bad(v: Any) -> Any:
    raise CodecError(f"value: not a data record ({str(v)[:80]})")


# ------------------------------------------------------------------------------------ frames


def pack(header: Any, blobs: list[bytes]) -> bytes:
    """One frame: ``>Q`` total length, ``>I`` header length, the JSON header, then each buffer
    as ``>Q`` length and bytes."""
    head = json.dumps({"h": header, "n": len(blobs)}, separators=(",", ":")).encode()
    parts = [struct.pack(">I", len(head)), head]
    for b in blobs:
        parts += [struct.pack(">Q", len(b)), b]
    body = b"".join(parts)
    return struct.pack(">Q", len(body)) + body


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError("the channel closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> tuple[Any, list[bytes]]:
    """The next frame from ``stream``: ``(header, blobs)``; ``EOFError`` when it closed,
    ``CodecError`` when the frame is malformed or too large."""
    (size,) = struct.unpack(">Q", _read_exact(stream, 8))
    if size > MAX_FRAME:
        raise CodecError(f"frame: {size} bytes, more than the {MAX_FRAME} allowed")
    body = _read_exact(stream, size)
    (hlen,) = struct.unpack(">I", body[:4])
    if hlen > min(MAX_HEADER, size - 4):
        raise CodecError("frame: bad header length")
    try:
        head = json.loads(body[4 : 4 + hlen])
    except (ValueError, UnicodeDecodeError) as err:
        raise CodecError(f"frame: the header is not JSON ({err})") from None
    if not isinstance(head, dict) or not isinstance(head.get("n"), int):
        raise CodecError("frame: bad header")
    blobs, pos = [], 4 + hlen
    for _ in range(head["n"]):
        if pos + 8 > size:
            raise CodecError("frame: truncated")
        (blen,) = struct.unpack(">Q", body[pos : pos + 8])
        pos += 8
        if pos + blen > size:
            raise CodecError("frame: truncated")
        blobs.append(body[pos : pos + blen])
        pos += blen
    return head.get("h"), blobs


def encode(value: Any, keep: Any = None,
           objects: tuple[str, ...] = OBJECT_MODULES) -> tuple[Any, list[bytes]]:  # fmt: skip
    """``(header, blobs)`` for ``value`` (see :class:`Encoder`)."""
    enc = Encoder(keep, objects)
    return enc(value), enc.blobs
