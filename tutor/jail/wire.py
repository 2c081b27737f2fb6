"""A pickle-free codec for values that cross the sandbox wall, in both directions.

The grader must never unpickle what learner code made, so values travel as a
JSON tree plus one blob of raw storage bytes. Each distinct storage is sent
once and tensors refer to it with their own shape, stride and offset: views
stay views on the other side, so aliasing can be judged there. ``decode``
trusts nothing: dtypes come from an allow-list, geometry is checked against
the storage it claims, and sizes are capped.

Worker side: imports only the standard library and torch.
"""

from __future__ import annotations

import ctypes
import math
import re
from collections import OrderedDict
from typing import Any

import torch

from tutor.jail.frames import WireError

# Bound once, before any learner code exists, so monkeypatching torch later
# cannot change how we read storages.
_string_at = ctypes.string_at
_untyped_storage = torch.Tensor.untyped_storage
_storage_offset = torch.Tensor.storage_offset
_stride = torch.Tensor.stride
_size = torch.Tensor.size
_storage_ptr = torch.UntypedStorage.data_ptr
_storage_nbytes = torch.UntypedStorage.nbytes
_storage_cpu = torch.UntypedStorage.cpu
_no_subclass = torch._C.DisableTorchFunctionSubclass
_empty = torch.empty
_set = torch.Tensor.set_
_frombuffer = torch.frombuffer

DTYPES: dict[str, torch.dtype] = {
    name: getattr(torch, name)
    for name in (
        "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
        "uint8", "int8", "int16", "int32", "int64", "bool",
    )
}  # fmt: skip
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}

MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_TENSORS = 10_000
#: Caps checked while decoding, before anything is built: a payload cannot
#: make the grader spend gigabytes or minutes (nodes in all, generators,
#: elements per tensor, digits per integer).
MAX_NODES = 200_000
MAX_GENERATORS = 64
MAX_NUMEL = 1 << 31
MAX_INT_DIGITS = 400
#: The mappings that travel as mappings (an ``OrderedDict`` is what ``state_dict()`` returns),
#: judged by exact type: a subclass could run code while it is read.
MAPPINGS = (dict, OrderedDict)


def dtype_name(dtype: torch.dtype) -> str:
    return DTYPE_NAMES.get(dtype) or str(dtype).replace("torch.", "")


class _Encoder:
    def __init__(self, max_bytes: int) -> None:
        self.tensors: list[dict[str, Any]] = []
        self.storages: list[dict[str, Any]] = []
        self.storage_ids: dict[tuple[str, int], int] = {}
        self.chunks: list[bytes] = []
        self.size = 0
        self.max_bytes = max_bytes
        self.seen: dict[int, int] = {}  # id(tensor) -> index: the same object sent twice is one entry

    def value(self, v: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            if abs(v) < 2**53:
                return v
            if v.bit_length() > MAX_INT_DIGITS * 3:  # ~400 decimal digits
                raise WireError("integer too large to grade")
            return {"bigint": str(v)}
        if isinstance(v, float):
            return v if math.isfinite(v) else {"float": repr(v)}
        if isinstance(v, complex):
            return {"complex": [self.value(v.real), self.value(v.imag)]}
        if isinstance(v, torch.Tensor):
            return {"tensor": self.tensor(v)}
        if isinstance(v, torch.Size):
            return {"size": [int(d) for d in v]}
        if isinstance(v, torch.dtype):
            return {"dtype": dtype_name(v)}
        if isinstance(v, torch.device):
            return {"device": str(v)}
        if isinstance(v, torch.Generator):
            return {"generator": int(v.initial_seed()), "device": str(v.device)}
        if type(v) in (list, tuple):
            if len(v) > MAX_ITEMS:
                raise WireError("sequence too long")
            return {type(v).__name__: [self.value(x, depth + 1) for x in v]}
        if type(v) in MAPPINGS:
            if len(v) > MAX_ITEMS:
                raise WireError("mapping too large")
            items = []
            for key, x in v.items():
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    return self.opaque(v)
                items.append([key, self.value(x, depth + 1)])
            return {"dict": items, "ordered": True} if type(v) is OrderedDict else {"dict": items}
        return self.opaque(v)

    @staticmethod
    def opaque(v: Any) -> dict[str, Any]:
        """Something we do not transport: say what it was, so feedback can name it."""
        kind = type(v)
        try:
            text = object.__repr__(v)
        except Exception:  # noqa: BLE001 - a hostile object may raise anything
            text = "?"
        return {"opaque": f"{kind.__module__}.{kind.__qualname__}"[:200], "repr": text[:200]}

    def tensor(self, t: torch.Tensor) -> int:
        if id(t) in self.seen:
            return self.seen[id(t)]
        if len(self.tensors) >= MAX_TENSORS:
            raise WireError("too many tensors")
        with _no_subclass():
            if t.layout != torch.strided or t.is_quantized or t.device.type not in ("cpu", "cuda", "meta"):
                raise WireError(f"cannot transport a {t.layout} tensor on {t.device}")
            if t.dtype not in DTYPE_NAMES:
                raise WireError(f"cannot transport dtype {t.dtype}")
            storage = _untyped_storage(t)
            meta = t.device.type == "meta"  # shapes and dtypes only: nothing to send, nothing shared
            key = ("meta", len(self.storages)) if meta else (str(t.device), _storage_ptr(storage))
            if key not in self.storage_ids:
                nbytes = _storage_nbytes(storage)
                self.size += 0 if meta else nbytes
                if self.size > self.max_bytes:
                    raise WireError(f"tensors larger than {self.max_bytes >> 20} MiB in all")
                host = storage if t.device.type != "cuda" else _storage_cpu(storage)
                data = _string_at(_storage_ptr(host), nbytes) if nbytes and not meta else b""
                self.storage_ids[key] = len(self.storages)
                self.storages.append({"nbytes": nbytes, "device": t.device.type})
                self.chunks.append(data)
            entry = {
                "storage": self.storage_ids[key],
                "dtype": DTYPE_NAMES[t.dtype],
                "shape": list(_size(t)),
                "stride": list(_stride(t)),
                "offset": int(_storage_offset(t)),
                "requires_grad": bool(t.requires_grad),
                "type": type(t).__name__,
            }
        self.seen[id(t)] = len(self.tensors)
        self.tensors.append(entry)
        return self.seen[id(t)]


def encode(value: Any, *, max_bytes: int = 256 << 20) -> tuple[dict[str, Any], bytes]:
    """Value to (JSON-able document, blob). Raises WireError for what cannot be sent."""
    enc = _Encoder(max_bytes)
    tree = enc.value(value)
    return {"value": tree, "tensors": enc.tensors, "storages": enc.storages}, b"".join(enc.chunks)


def decode(doc: Any, blob: bytes, *, device: str = "cpu", max_bytes: int = 256 << 20) -> Any:
    """(document, blob) to a value, validating every claim the payload makes.

    Anything malformed raises WireError, never another exception type: the
    caller turns it into a verdict.
    """
    if not isinstance(doc, dict):
        raise WireError("payload is not an object")
    try:
        storages = _decode_storages(doc.get("storages"), blob, device, max_bytes)
        tensors = _decode_tensors(doc.get("tensors"), storages)
        return _decode_value(doc.get("value"), tensors, device, 0, _Budget())
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RuntimeError, RecursionError, MemoryError) as exc:
        raise WireError(f"malformed payload ({type(exc).__name__})") from None


class _Budget:
    """What one decode may still build."""

    def __init__(self) -> None:
        self.nodes = MAX_NODES
        self.generators = MAX_GENERATORS

    def node(self) -> None:
        self.nodes -= 1
        if self.nodes < 0:
            raise WireError("payload has too many values")


def _decode_storages(raw: Any, blob: bytes, device: str, max_bytes: int) -> list[torch.UntypedStorage]:
    if not isinstance(raw, list):
        raise WireError("storages missing")
    if len(raw) > MAX_TENSORS:
        raise WireError("too many storages")
    out = []
    pos = 0
    for entry in raw:
        nbytes = entry.get("nbytes") if isinstance(entry, dict) else None
        if not isinstance(nbytes, int) or isinstance(nbytes, bool) or nbytes < 0:
            raise WireError("bad storage size")
        if entry.get("device") == "meta":  # no bytes in the blob
            if nbytes > 2**48:
                raise WireError("bad storage size")
            out.append(_untyped_storage(_empty(nbytes, dtype=torch.uint8, device="meta")))
            continue
        if pos + nbytes > len(blob) or pos + nbytes > max_bytes:
            raise WireError("storage runs past the payload")
        target = _empty(nbytes, dtype=torch.uint8)
        if nbytes:
            target.copy_(_frombuffer(bytearray(blob[pos : pos + nbytes]), dtype=torch.uint8))
        pos += nbytes
        on = device if entry.get("device") == "cuda" else "cpu"
        out.append(_untyped_storage(target.to(on)))
    if pos != len(blob):
        raise WireError("payload has trailing bytes")
    return out


def _int_list(value: Any, what: str) -> list[int]:
    if not isinstance(value, list) or len(value) > 64 or not all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**48 for v in value
    ):
        raise WireError(f"bad {what}")
    return value


def _decode_tensors(raw: Any, storages: list[torch.UntypedStorage]) -> list[torch.Tensor]:
    if not isinstance(raw, list) or len(raw) > MAX_TENSORS:
        raise WireError("tensors missing")
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise WireError("bad tensor entry")
        sid = entry.get("storage")
        if not isinstance(sid, int) or not 0 <= sid < len(storages):
            raise WireError("tensor refers to no storage")
        dtype = DTYPES.get(entry.get("dtype"))  # type: ignore[arg-type]
        if dtype is None:
            raise WireError(f"dtype {entry.get('dtype')!r} not allowed")
        shape = _int_list(entry.get("shape"), "shape")
        stride = _int_list(entry.get("stride"), "stride")
        offset = entry.get("offset")
        if len(stride) != len(shape) or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise WireError("bad tensor geometry")
        if math.prod(shape) > MAX_NUMEL:
            raise WireError("tensor has too many elements")
        storage = storages[sid]
        itemsize = torch.empty(0, dtype=dtype).element_size()
        capacity = _storage_nbytes(storage) // itemsize
        if all(shape):
            extent = offset + sum((n - 1) * s for n, s in zip(shape, stride)) + 1
            if extent > capacity:
                raise WireError("tensor view reaches outside its storage")
        elif offset > capacity:
            raise WireError("tensor offset outside its storage")
        t = _set(_empty(0, dtype=dtype, device=storage.device), storage, offset, shape, stride)
        if entry.get("requires_grad") is True:
            if not (dtype.is_floating_point or dtype.is_complex):
                raise WireError("only floating tensors can require grad")
            t.requires_grad_(True)
        kind = entry.get("type")
        if kind not in (None, "Tensor"):
            t.wire_type = str(kind)[:100]  # shown in feedback; the data itself is a plain tensor
        out.append(t)
    return out


def _decode_value(v: Any, tensors: list[torch.Tensor], device: str, depth: int, budget: _Budget) -> Any:
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    budget.node()
    if v is None or isinstance(v, (bool, float, str)):
        return v
    if isinstance(v, int):
        if abs(v) >= 2**63:
            raise WireError("integer too large")
        return v
    if not isinstance(v, dict) or len(v) not in (1, 2):
        raise WireError("bad value node")
    if "tensor" in v:
        index = v["tensor"]
        if not isinstance(index, int) or not 0 <= index < len(tensors):
            raise WireError("bad tensor reference")
        return tensors[index]
    if "list" in v or "tuple" in v:
        items = v.get("list", v.get("tuple"))
        if not isinstance(items, list) or len(items) > MAX_ITEMS:
            raise WireError("bad sequence")
        decoded = [_decode_value(x, tensors, device, depth + 1, budget) for x in items]
        return decoded if "list" in v else tuple(decoded)
    if "dict" in v:
        pairs = v["dict"]
        ordered = len(v) == 2
        if ordered and v.get("ordered") is not True:
            raise WireError("bad mapping")
        if not isinstance(pairs, list) or len(pairs) > MAX_ITEMS or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) and not isinstance(p[0], bool)
            and (isinstance(p[0], str) or abs(p[0]) < 2**63)
            for p in pairs
        ):
            raise WireError("bad mapping")
        mapping = {k: _decode_value(x, tensors, device, depth + 1, budget) for k, x in pairs}
        return OrderedDict(mapping) if ordered else mapping
    if "size" in v:
        return torch.Size(_int_list(v["size"], "size"))
    if "dtype" in v:
        if not isinstance(v["dtype"], str) or v["dtype"] not in DTYPES:
            raise WireError("unknown dtype")
        return DTYPES[v["dtype"]]
    if "device" in v and "generator" not in v:
        text = v["device"]
        if not isinstance(text, str) or len(text) > 16:
            raise WireError("unknown device")
        kind, _, index = text.partition(":")
        if kind not in ("cpu", "cuda", "meta") or (index and not index.isdigit()):
            raise WireError("unknown device")
        return torch.device(text if kind == "cuda" else kind)
    if "generator" in v:
        seed = v["generator"]
        budget.generators -= 1
        if budget.generators < 0:
            raise WireError("too many generators")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**64:
            raise WireError("bad generator")
        on = device if str(v.get("device", "cpu")).startswith("cuda") else "cpu"
        gen = torch.Generator(device=on)
        gen.manual_seed(seed)
        return gen
    if "float" in v:
        if v["float"] not in ("nan", "inf", "-inf"):
            raise WireError("bad float")
        return float(v["float"])
    if "bigint" in v:
        text = v["bigint"]
        if not isinstance(text, str) or not _INT_TEXT.fullmatch(text):
            raise WireError("bad integer")
        return int(text)
    if "complex" in v:
        parts = v["complex"]
        if not isinstance(parts, list) or len(parts) != 2:
            raise WireError("bad complex")
        re_, im = (_decode_value(x, tensors, device, depth + 1, budget) for x in parts)
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (re_, im)):
            raise WireError("bad complex")
        return complex(re_, im)
    if "opaque" in v:
        return Opaque(str(v["opaque"])[:200], str(v.get("repr", ""))[:200])
    raise WireError("unknown value node")


_INT_TEXT = re.compile(r"-?[0-9]{1,%d}" % MAX_INT_DIGITS)


class Opaque:
    """A value the learner returned that we do not transport (a numpy array, an object...)."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}>"
