"""A safe, fast file format for scikit-learn models (and other plain Python object trees).

Pickle runs whatever code a file names, so a pickled model from an untrusted source is an
attack. skops is safe but slow (about 80 ms to save and 100 ms to load a 100-tree forest).
This format keeps skops' safety rule and drops the cost:

- The object tree is written as JSON: containers, numbers and strings as themselves, objects
  as ``{"O": "module:QualName", "st": <state>}`` (what ``__reduce_ex__`` gives pickle), classes
  and functions as names. Nothing is ever stored as code.
- Every numeric numpy array goes, raw, into one binary section after the JSON, 64-byte
  aligned; loading maps it back with ``np.frombuffer``. Object arrays are encoded element by
  element; a dtype that could hold Python objects is refused on load.
- Loading resolves each named class or function against an allow-list (scikit-learn, numpy,
  scipy.sparse types and a few safe builtins, numpy ufuncs, scikit-learn metric and
  preprocessing functions) plus the names the caller trusts explicitly, before anything is
  built. A name outside it raises PermissionDenied listing every untrusted name, so the user
  can review them and pass ``trusted=[...]``. Objects are created with ``cls.__new__`` and
  their state set, as pickle does; only allowed classes are ever called.
- The scikit-learn structures that compiled code indexes without bounds checks (tree nodes,
  histogram-GBM predictors, libsvm counts) are validated before the model is returned (see
  ``_safe_checks``), so a crafted file cannot make ``predict`` read outside its arrays.

Layout: 16-byte magic, 8-byte little-endian JSON length, the JSON header, padding to 64 bytes,
then the array data.
"""

from __future__ import annotations

import base64
import copyreg
import functools
import importlib
import math
import struct
import types
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from shipyard.errors import IntegrityError, InvalidArgument, PermissionDenied
from shipyard.registry._safe_checks import TREE, UNVALIDATED, Checks, check_object

MAGIC = b"SHIPYARD-STATE1\n"
ALIGN = 64
FORMAT = "shipyard-state"
_NEWOBJ = getattr(copyreg, "__newobj__")  # noqa: B009 - untyped in typeshed
_INT64 = 2**63

#: Classes that may be instantiated (``cls.__new__`` + state) without being trusted.
_SAFE_CLASS_PREFIXES = ("sklearn.", "scipy.sparse.")
_UNSAFE_PARTS = frozenset({"tests", "_testing", "conftest", "externals", "datasets"})
_SAFE_CLASSES = frozenset(
    {"collections.OrderedDict", "collections.defaultdict", "collections.Counter"}
)
#: Builtin types that may appear as values (``dtype=float``), never instantiated.
_SAFE_TYPE_REFS = frozenset(
    f"builtins.{n}" for n in ("int", "float", "bool", "str", "complex", "bytes", "object",
                               "list", "dict", "tuple", "set", "frozenset")
)  # fmt: skip
#: Modules whose functions may be referenced (``FunctionTransformer(func=...)``).
_SAFE_FUNCTION_PREFIXES = (
    "sklearn.metrics.",
    "sklearn.feature_selection.",
    "sklearn.preprocessing.",
    "sklearn.kernel_approximation.",
)


def _is_rebuild_name(name: str) -> bool:
    """Module-level functions scikit-learn's extension types rebuild through: Cython's
    generated ``__pyx_unpickle_<Type>`` and the binary trees' ``newObj``; each takes the class
    (which must itself be allowed) and plain state."""
    return name.startswith("__pyx_unpickle_") or name == "newObj"


def _qualified(obj: Any) -> tuple[str, str]:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if isinstance(obj, np.ufunc):
        module, qualname = "numpy", obj.__name__
    if not module or not qualname or "<locals>" in qualname or "<lambda>" in qualname:
        shown = qualname or type(obj).__name__
        raise InvalidArgument(
            f"cannot save {shown} safely: only classes and functions importable by name can be "
            "referenced; define it at module level, or save with trusted=True (pickle)",
            field="model",
        )
    return module, qualname


def dotted_name(ref: str) -> str:
    """``module.QualName`` for a ``module:QualName`` reference (the form users write)."""
    return ref.replace(":", ".")


def is_trusted_by_default(ref: str, kind: str) -> bool:
    """Whether a ``module:qualname`` reference of ``kind`` (class, type, function) loads
    without an explicit trust."""
    module, _, _qualname = ref.partition(":")
    dotted = dotted_name(ref)
    if any(part in _UNSAFE_PARTS for part in module.split(".")):
        return False
    if kind == "class":
        if dotted in UNVALIDATED:
            return False
        return dotted in _SAFE_CLASSES or module.startswith(_SAFE_CLASS_PREFIXES)
    if kind == "type":
        return (
            dotted in _SAFE_TYPE_REFS
            or module in ("numpy", "numpy.dtypes")
            or module.startswith(_SAFE_CLASS_PREFIXES)
        )
    if kind == "rebuild":  # how a scikit-learn extension type rebuilds itself
        return module.startswith("sklearn.") and _is_rebuild_name(_qualname)
    if module in ("numpy", "scipy.special"):  # ufuncs only: np.log1p, not np.save
        try:
            return isinstance(_import(ref), np.ufunc)
        except (ImportError, AttributeError):
            return False
    return module.startswith(_SAFE_FUNCTION_PREFIXES)


# --------------------------------------------------------------------------------------------
# writing


class _Encoder:
    def __init__(self) -> None:
        self.arrays: list[dict[str, Any]] = []
        self.chunks: list[bytes | memoryview] = []
        self.size = 0
        self.refs: dict[str, str] = {}  # "module:qualname" -> kind
        self.memo: dict[int, int] = {}
        self.alive: list[Any] = []  # keeps memoized objects alive so their ids stay unique
        self.busy: set[int] = set()

    def remember(self, obj: Any) -> int:
        index = len(self.memo)
        self.memo[id(obj)] = index
        self.alive.append(obj)
        return index

    def ref(self, obj: Any, kind: str) -> str:
        module, qualname = _qualified(obj)
        name = f"{module}:{qualname}"
        if kind != "function" or not isinstance(obj, np.ufunc):
            _check_resolves(name, obj)
        if self.refs.get(name) != "class":  # a class used as a value stays a class
            self.refs[name] = kind
        return name

    def array(self, arr: np.ndarray[Any, Any]) -> int:
        arr = np.ascontiguousarray(arr)
        padding = -self.size % ALIGN
        if padding:
            self.chunks.append(b"\0" * padding)
            self.size += padding
        self.arrays.append(
            {
                "dtype": _descr_of(arr.dtype),
                "shape": list(arr.shape),
                "offset": self.size,
                "nbytes": arr.nbytes,
            }
        )
        self.chunks.append(arr.tobytes() if arr.nbytes else b"")
        self.size += arr.nbytes
        return len(self.arrays) - 1

    def encode(self, obj: Any) -> Any:
        kind = type(obj)
        if obj is None or kind is bool or kind is str:
            return obj
        if kind is int:
            return obj if -_INT64 <= obj < _INT64 else {"i": str(obj)}
        if kind is float:
            return obj if math.isfinite(obj) else {"f": repr(obj)}
        key = id(obj)
        if key in self.memo:
            return {"r": self.memo[key]}
        if key in self.busy:
            raise InvalidArgument(
                f"cannot save the model safely: a {kind.__name__} contains itself through an "
                "immutable container; save with trusted=True (pickle)",
                field="model",
            )
        self.busy.add(key)
        try:
            return self._encode_object(obj, kind)
        finally:
            self.busy.discard(key)

    def _encode_object(self, obj: Any, kind: type) -> Any:
        if kind is list:
            index = self.remember(obj)
            return {"l": [self.encode(x) for x in obj], "#": index}
        if kind is dict:
            index = self.remember(obj)
            return {"d": [[self.encode(k), self.encode(v)] for k, v in obj.items()], "#": index}
        if kind is tuple:
            items = [self.encode(x) for x in obj]
            return {"t": items, "#": self.remember(obj)}
        if kind is set or kind is frozenset:
            tag = "s" if kind is set else "fs"
            return {tag: [self.encode(x) for x in obj], "#": self.remember(obj)}
        if kind is bytes:
            return {"b": base64.b64encode(obj).decode()}
        if kind is complex:
            return {"c": [self.encode(obj.real), self.encode(obj.imag)]}
        if kind is slice:
            return {"sl": [self.encode(obj.start), self.encode(obj.stop), self.encode(obj.step)]}
        if kind is np.ndarray:
            if obj.dtype.hasobject:
                items = [self.encode(x) for x in obj.ravel(order="C")]
                return {"oa": items, "shape": list(obj.shape), "#": self.remember(obj)}
            return {"a": self.array(obj), "#": self.remember(obj)}
        if kind is np.ma.MaskedArray:  # e.g. GridSearchCV.cv_results_
            node = {
                "ma": self.encode(np.asarray(obj.data)),
                "mask": self.encode(np.ma.getmaskarray(obj)),
            }
            return {**node, "fill": self.encode(obj.fill_value), "#": self.remember(obj)}
        if isinstance(obj, np.generic):
            return {"np": _descr_of(obj.dtype), "v": self.encode(obj.item())}
        if isinstance(obj, np.dtype):
            return {"dt": _descr_of(obj)}
        if isinstance(obj, type):
            return {"T": self.ref(obj, "type")}
        if isinstance(obj, types.FunctionType | types.BuiltinFunctionType | np.ufunc):
            return {"F": self.ref(obj, "function")}
        if isinstance(obj, np.random.RandomState):
            return {"rs": self.encode(obj.get_state(legacy=False)), "#": self.remember(obj)}
        if isinstance(obj, np.random.Generator):
            bits = obj.bit_generator
            return {"gen": type(bits).__name__, "st": self.encode(bits.state)}
        return self._encode_reduced(obj)

    def _encode_reduced(self, obj: Any) -> Any:
        reduced = obj.__reduce_ex__(4)
        if isinstance(reduced, str) or len(reduced) > 5:
            raise _unsupported(obj, reduced)
        func, args, state, listitems, dictitems = (*reduced, None, None, None)[:5]
        node: dict[str, Any]
        if func is _NEWOBJ and args and isinstance(args[0], type):
            node = {"O": self.ref(args[0], "class")}
            if len(args) > 1:
                node["na"] = [self.encode(a) for a in args[1:]]
            node["#"] = self.remember(obj)
        elif isinstance(func, type) and func is type(obj):
            node = {"C": self.ref(func, "class"), "args": [self.encode(a) for a in args]}
            node["#"] = self.remember(obj)
        elif _is_rebuild_name(getattr(func, "__name__", "")) and args and args[0] is type(obj):
            self.ref(type(obj), "class")
            node = {"X": self.ref(func, "rebuild"), "args": [self.encode(a) for a in args]}
            node["#"] = self.remember(obj)
        else:
            raise _unsupported(obj, reduced)
        if state is not None:
            node["st"] = self.encode(state)
        if listitems is not None:
            node["li"] = [self.encode(x) for x in listitems]
        if dictitems is not None:
            node["di"] = [[self.encode(k), self.encode(v)] for k, v in dictitems]
        return node


@functools.lru_cache(maxsize=256)
def _descr_of(dtype: np.dtype[Any]) -> Any:
    """numpy's portable description of a dtype (cached: a forest repeats one node dtype)."""
    return np.lib.format.dtype_to_descr(dtype)


def _unsupported(obj: Any, reduced: Any) -> InvalidArgument:
    how = reduced if isinstance(reduced, str) else getattr(reduced[0], "__name__", reduced[0])
    return InvalidArgument(
        f"cannot save a {type(obj).__module__}.{type(obj).__qualname__} safely (it rebuilds "
        f"itself through {how!r}, which the safe format does not run); save with "
        "trusted=True to use pickle instead",
        field="model",
    )


def _check_resolves(name: str, obj: Any) -> None:
    """A reference must lead back to the same object, or loading would build something else."""
    try:
        found = _import(name)
    except (ImportError, AttributeError):
        found = None
    if found is not obj:
        raise InvalidArgument(
            f"cannot save {dotted_name(name)} safely: it cannot be imported under that name "
            "(defined in __main__ or inside a function?); move it into a module, or save "
            "with trusted=True (pickle)",
            field="model",
        )


def dump(obj: Any, path: Path) -> list[str]:
    """Write ``obj`` to ``path``; returns the class and function names it references that
    a loader must trust explicitly (empty for plain scikit-learn models)."""
    encoder = _Encoder()
    root = encoder.encode(obj)
    header = orjson.dumps(
        {
            "format": FORMAT,
            "version": 1,
            "refs": dict(sorted(encoder.refs.items())),
            "arrays": encoder.arrays,
            "root": root,
        }
    )
    start = len(MAGIC) + 8 + len(header)
    with open(path, "wb") as fh:
        fh.write(MAGIC)
        fh.write(struct.pack("<Q", len(header)))
        fh.write(header)
        fh.write(b"\0" * (-start % ALIGN))
        for chunk in encoder.chunks:
            fh.write(chunk)
    return untrusted(encoder.refs)


def untrusted(refs: dict[str, str], trusted: Collection[str] = ()) -> list[str]:
    """The referenced names (dotted) that are neither allowed by default nor in ``trusted``."""
    allowed = set(trusted)
    return sorted(
        dotted_name(ref)
        for ref, kind in refs.items()
        if dotted_name(ref) not in allowed and not is_trusted_by_default(ref, kind)
    )


# --------------------------------------------------------------------------------------------
# reading


def _read(path: Path) -> tuple[dict[str, Any], bytearray, int]:
    data = bytearray(Path(path).read_bytes())
    if data[: len(MAGIC)] != MAGIC or len(data) < len(MAGIC) + 8:
        raise IntegrityError(f"{path} is not a Shipyard state file (bad magic bytes)")
    (length,) = struct.unpack_from("<Q", data, len(MAGIC))
    start = len(MAGIC) + 8
    if start + length > len(data):
        raise IntegrityError(f"{path} is truncated: its header runs past the end of the file")
    try:
        header = orjson.loads(bytes(data[start : start + length]))
    except orjson.JSONDecodeError:
        raise IntegrityError(f"{path} has a corrupt header") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise IntegrityError(f"{path} is not a Shipyard state file")
    body = start + length
    return header, data, body + (-body % ALIGN)


def untrusted_types(path: Path, trusted: Collection[str] = ()) -> list[str]:
    """The names a state file references that loading it would have to trust explicitly."""
    header, _data, _start = _read(path)
    return untrusted(header.get("refs", {}), trusted)


def load(path: Path, trusted: Collection[str] = ()) -> Any:
    """Rebuild the object stored at ``path``.

    Raises PermissionDenied, naming them all, when the file references classes or functions
    that are neither allowed by default nor listed in ``trusted``.
    """
    header, data, start = _read(path)
    refs = header.get("refs", {})
    if not isinstance(refs, dict):
        raise IntegrityError(f"{path} has a corrupt header")
    refused = untrusted(refs, trusted)
    if refused:
        raise PermissionDenied(
            f"the model references {len(refused)} type(s) Shipyard does not trust by default: "
            f"{', '.join(refused)}; if you trust their source, pass trusted={refused!r}",
            field="trusted",
            untrusted=refused,
        )
    decoder = _Decoder(header, data, start, refs)
    obj = decoder.decode(header["root"])
    decoder.checks.finish()
    return obj


def _import(name: str) -> Any:
    module_name, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _descr(value: Any) -> Any:
    """A dtype description from JSON (lists back to the tuples numpy expects)."""
    if isinstance(value, list):
        return [
            tuple(_descr(part) if isinstance(part, list) and i == 1 else
                  tuple(part) if isinstance(part, list) else part for i, part in enumerate(field))
            for field in value
        ]  # fmt: skip
    return value


class _Decoder:
    def __init__(self, header: dict[str, Any], data: bytearray, start: int, refs: dict[str, str]):
        self.arrays = header.get("arrays", [])
        self.data = data
        self.start = start
        self.refs = refs
        self.memo: dict[int, Any] = {}
        self.resolved: dict[str, Any] = {}
        self.dtypes: dict[Any, np.dtype[Any]] = {}
        self.checks = Checks()

    def resolve(self, name: str, kind: str) -> Any:
        if self.refs.get(name) != kind and not (kind == "type" and self.refs.get(name) == "class"):
            raise IntegrityError(f"state file uses {name!r} as a {kind} without declaring it")
        if name not in self.resolved:
            obj = _import(name)
            if kind in ("class", "type") and not isinstance(obj, type):
                raise IntegrityError(f"{dotted_name(name)} is not a class")
            self.resolved[name] = obj
        return self.resolved[name]

    def dtype(self, descr: Any) -> np.dtype[Any]:
        key = descr if isinstance(descr, str) else orjson.dumps(descr)
        dtype = self.dtypes.get(key)
        if dtype is None:
            dtype = np.lib.format.descr_to_dtype(_descr(descr))
            if dtype.hasobject:
                raise IntegrityError("state file declares an object dtype for raw data; refused")
            self.dtypes[key] = dtype
        return dtype

    def keep(self, node: dict[str, Any], obj: Any) -> Any:
        if "#" in node:
            self.memo[node["#"]] = obj
        return obj

    def decode(self, node: Any) -> Any:
        kind = type(node)
        if kind in _PLAIN:
            return node
        if kind is not dict or not node:
            raise IntegrityError("state file has a malformed node")
        handler = _HANDLERS.get(next(iter(node)))  # the writer puts the node's tag first
        if handler is None:
            raise IntegrityError(f"state file has an unknown node {sorted(node)[:3]}")
        try:
            return handler(self, node)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise IntegrityError(
                f"state file has a malformed {next(iter(node))!r} node: {exc!r}"
            ) from None

    def decode_all(self, items: Iterable[Any]) -> list[Any]:
        return [self.decode(x) for x in items]

    # ---------------------------------------------------------------- node kinds

    def list_(self, node: dict[str, Any]) -> Any:
        out: list[Any] = self.keep(node, [])
        out.extend(self.decode_all(node["l"]))
        return out

    def dict_(self, node: dict[str, Any]) -> Any:
        out: dict[Any, Any] = self.keep(node, {})
        decode = self.decode
        for key, value in node["d"]:
            out[key if type(key) is str else decode(key)] = decode(value)
        return out

    def array(self, node: dict[str, Any]) -> Any:
        meta = self.arrays[node["a"]]
        dtype = self.dtype(meta["dtype"])
        shape = tuple(int(n) for n in meta["shape"])
        count = math.prod(shape)
        offset = self.start + int(meta["offset"])
        if count * dtype.itemsize != meta["nbytes"] or offset + meta["nbytes"] > len(self.data):
            raise IntegrityError("state file has an array that does not fit its data")
        if count == 0:
            return self.keep(node, np.empty(shape, dtype=dtype))
        flat = np.frombuffer(self.data, dtype=dtype, count=count, offset=offset)
        return self.keep(node, flat.reshape(shape))

    def object_array(self, node: dict[str, Any]) -> Any:
        items = self.decode_all(node["oa"])
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return self.keep(node, out.reshape(tuple(node["shape"])))

    def obj(self, node: dict[str, Any]) -> Any:
        cls = self.resolve(node["O"], "class")
        args = self.decode_all(node.get("na", []))
        instance = self.keep(node, cls.__new__(cls, *args))
        return self.finish(instance, node)

    def constructed(self, node: dict[str, Any]) -> Any:
        cls = self.resolve(node["C"], "class")
        instance = self.keep(node, cls(*self.decode_all(node["args"])))
        return self.finish(instance, node)

    def rebuild(self, node: dict[str, Any]) -> Any:
        unpickle = self.resolve(node["X"], "rebuild")
        args = self.decode_all(node["args"])
        if not args or not isinstance(args[0], type):
            raise IntegrityError("state file has a malformed extension-type node")
        if self.refs.get(f"{args[0].__module__}:{args[0].__qualname__}") != "class":
            raise IntegrityError(f"state file rebuilds {args[0]!r} without declaring it a class")
        return self.finish(self.keep(node, unpickle(*args)), node)

    def finish(self, instance: Any, node: dict[str, Any]) -> Any:
        if "st" in node:
            state = self.decode(node["st"])
            if node.get("C") == TREE:
                self.checks.tree_state(instance, state)
            setstate = getattr(instance, "__setstate__", None)
            if setstate is not None:
                setstate(state)
            else:
                slots = None
                if isinstance(state, tuple) and len(state) == 2:
                    state, slots = state
                if state:
                    instance.__dict__.update(state)
                for key, value in (slots or {}).items():
                    setattr(instance, key, value)
        for item in self.decode_all(node.get("li", [])):
            instance.append(item)
        for key, value in node.get("di", []):
            instance[self.decode(key)] = self.decode(value)
        if "O" in node:
            check_object(instance)
        return instance

    def random_state(self, node: dict[str, Any]) -> Any:
        rng = self.keep(node, np.random.RandomState())
        rng.set_state(self.decode(node["rs"]))
        return rng

    def generator(self, node: dict[str, Any]) -> Any:
        name = node["gen"]
        if name not in ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64"):
            raise IntegrityError(f"unknown bit generator {name!r}")
        bits = getattr(np.random, name)()
        bits.state = self.decode(node["st"])
        return np.random.Generator(bits)


def _tuple(d: _Decoder, node: dict[str, Any]) -> Any:
    return d.keep(node, tuple(d.decode_all(node["t"])))


def _masked(d: _Decoder, node: dict[str, Any]) -> Any:
    data, mask = d.decode(node["ma"]), d.decode(node["mask"])
    if not isinstance(data, np.ndarray) or not isinstance(mask, np.ndarray):
        raise IntegrityError("state file has a malformed masked array")
    return d.keep(node, np.ma.MaskedArray(data, mask=mask, fill_value=d.decode(node["fill"])))


def _scalar(d: _Decoder, node: dict[str, Any]) -> Any:
    return np.array(d.decode(node["v"]), dtype=d.dtype(node["np"]))[()]


_PLAIN = frozenset({type(None), bool, int, float, str})
_HANDLERS: dict[str, Any] = {
    "r": lambda d, n: d.memo[n["r"]],
    "l": _Decoder.list_,
    "d": _Decoder.dict_,
    "a": _Decoder.array,
    "O": _Decoder.obj,
    "t": _tuple,
    "np": _scalar,
    "oa": _Decoder.object_array,
    "ma": _masked,
    "C": _Decoder.constructed,
    "X": _Decoder.rebuild,
    "T": lambda d, n: d.resolve(n["T"], "type"),
    "F": lambda d, n: d.resolve(n["F"], "function"),
    "dt": lambda d, n: d.dtype(n["dt"]),
    "s": lambda d, n: d.keep(n, set(d.decode_all(n["s"]))),
    "fs": lambda d, n: d.keep(n, frozenset(d.decode_all(n["fs"]))),
    "f": lambda d, n: float(n["f"]),
    "i": lambda d, n: int(n["i"]),
    "b": lambda d, n: base64.b64decode(n["b"]),
    "c": lambda d, n: complex(d.decode(n["c"][0]), d.decode(n["c"][1])),
    "sl": lambda d, n: slice(*d.decode_all(n["sl"])),
    "rs": _Decoder.random_state,
    "gen": _Decoder.generator,
}
