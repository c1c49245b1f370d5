"""The Open Inference Protocol (V2) wire format: JSON tensors and the binary data extension.

A request body is a JSON object; with the binary extension the
``Inference-Header-Content-Length`` header gives the JSON part's length and the raw tensors
follow it, in input order, each input's ``parameters.binary_data_size`` bytes long
(little-endian; BYTES elements as a 4-byte little-endian length and the bytes). Tensor data
is read straight into flat numpy arrays (orjson, then one ``np.asarray``), never through
per-element Python conversions or pandas codecs.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from shipyard.errors import InvalidArgument, SchemaError

HEADER = "inference-header-content-length"
DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype("bool"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
    "BYTES": np.dtype("object"),
}
_BY_KIND = {(d.kind, d.itemsize): name for name, d in DTYPES.items() if name != "BYTES"}


def v2_datatype(dtype: np.dtype[Any]) -> str:
    """The V2 datatype name of a numpy dtype (strings and objects are BYTES)."""
    return _BY_KIND.get((dtype.kind, dtype.itemsize), "BYTES")


@dataclass
class Tensor:
    """One decoded input tensor."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    array: np.ndarray[Any, Any]


@dataclass
class InferRequest:
    """A decoded V2 inference request."""

    id: str | None
    inputs: list[Tensor]
    parameters: dict[str, Any] = field(default_factory=dict)
    binary_outputs: dict[str, bool] = field(default_factory=dict)
    binary_default: bool = False

    def wants_binary(self, output: str) -> bool:
        return self.binary_outputs.get(output, self.binary_default)


def loads(body: bytes) -> Any:
    """Parsed JSON, or InvalidArgument (400) saying where it is malformed."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"malformed JSON body: {exc}", field="body") from None


def decode_request(body: bytes, header_length: str | None) -> InferRequest:
    """A V2 inference request from its body (JSON, or JSON + binary tensors)."""
    binary = b""
    if header_length is not None:
        try:
            size = int(header_length)
        except ValueError:
            size = -1
        if not 0 <= size <= len(body):
            raise InvalidArgument(
                f"Inference-Header-Content-Length {header_length!r} is not a length within the "
                f"{len(body)}-byte body",
                field="Inference-Header-Content-Length",
            )
        body, binary = body[:size], body[size:]
    doc = loads(body)
    if not isinstance(doc, dict):
        raise InvalidArgument("an inference request is a JSON object", field="body")
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidArgument("'inputs' must be a non-empty list of tensors", field="inputs")
    params = doc.get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidArgument("'parameters' must be an object", field="parameters")
    offset = 0
    inputs: list[Tensor] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_inputs):
        tensor, offset = _decode_tensor(raw, index, binary, offset)
        if tensor.name in names:
            raise InvalidArgument(
                f"inputs[{index}] ({tensor.name!r}): another input has this name; each input "
                "tensor is named once",
                field=tensor.name,
            )
        names.add(tensor.name)
        inputs.append(tensor)
    if offset != len(binary):
        raise InvalidArgument(
            f"the body has {len(binary) - offset} binary byte(s) no input claims "
            "(parameters.binary_data_size)",
            field="inputs",
        )
    request_id = doc.get("id")
    outputs: dict[str, bool] = {}
    requested = doc.get("outputs") or []
    if not isinstance(requested, list):
        raise InvalidArgument("'outputs' must be a list of requested outputs", field="outputs")
    for raw in requested:
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            raise InvalidArgument("each requested output needs a 'name'", field="outputs")
        options = _parameters(raw, f"outputs ({raw['name']!r})", "outputs")
        outputs[raw["name"]] = bool(options.get("binary_data", False))
    return InferRequest(
        id=str(request_id) if request_id is not None else None,
        inputs=inputs,
        parameters=params,
        binary_outputs=outputs,
        binary_default=bool(params.get("binary_data_output", False)),
    )


def _decode_tensor(raw: Any, index: int, binary: bytes, offset: int) -> tuple[Tensor, int]:
    if not isinstance(raw, dict):
        raise InvalidArgument(f"inputs[{index}] must be an object", field=f"inputs[{index}]")
    name, datatype, shape = raw.get("name"), raw.get("datatype"), raw.get("shape")
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"inputs[{index}] needs a 'name'", field=f"inputs[{index}].name")
    dtype = DTYPES.get(datatype) if isinstance(datatype, str) else None
    if dtype is None:
        raise SchemaError(
            f"{_where(index, name)} has datatype {datatype!r}; use one of {', '.join(DTYPES)}",
            field=name,
        )
    if not isinstance(shape, list) or not shape or not all(map(_is_dimension, shape)):
        raise SchemaError(
            f"{_where(index, name)} has shape {shape!r}; a shape is a list of non-negative "
            "integers",
            field=name,
        )
    count = math.prod(shape)  # exact: numpy's product wraps around past 64 bits
    params = raw.get("parameters")
    size = _parameters(raw, _where(index, name), name).get("binary_data_size") if params else None
    if size is not None:
        if (
            not isinstance(size, int)
            or isinstance(size, bool)
            or size < 0
            or offset + size > len(binary)
        ):
            raise InvalidArgument(
                f"{_where(index, name)} claims {size!r} binary bytes; the body holds "
                f"{len(binary) - offset}",
                field=name,
            )
        chunk = binary[offset : offset + size]
        offset += size
        array = _from_bytes(chunk, dtype, count, _where(index, name), name)
    else:
        if "data" not in raw:
            raise SchemaError(
                f"{_where(index, name)} has no 'data' (and no binary_data_size)", field=name
            )
        array = _from_json(raw["data"], dtype, count, _where(index, name), name)
    if len(shape) != 1:
        try:
            array = array.reshape(shape)
        except ValueError as exc:  # more dimensions, or a size, than numpy takes
            raise SchemaError(
                f"{_where(index, name)} has shape {shape!r}: {exc}", field=name
            ) from None
    return Tensor(name, str(datatype), tuple(shape), array), offset


def _where(index: int, name: str) -> str:
    """How an error names an input: its position and its name (built only on an error)."""
    return f"inputs[{index}] ({name!r})"


def _is_dimension(n: Any) -> bool:
    return type(n) is int and n >= 0


def _parameters(raw: dict[str, Any], where: str, name: str) -> dict[str, Any]:
    """A tensor's or requested output's ``parameters``: an object, or InvalidArgument."""
    params = raw.get("parameters") or {}
    if not isinstance(params, dict):
        raise InvalidArgument(f"{where}: 'parameters' must be an object", field=name)
    return params


def _from_json(
    data: Any, dtype: np.dtype[Any], count: int, where: str, name: str
) -> np.ndarray[Any, Any]:
    if not isinstance(data, list):
        data = [data]
    try:
        if dtype.kind == "O":
            array = np.asarray(data, dtype=object).ravel()
            bad = [v for v in array[:1000] if not isinstance(v, str | bytes)]
            if bad:
                raise ValueError(f"{bad[0]!r} is not a string")
        elif dtype.kind == "b":
            array = np.asarray(data).ravel()
            if array.size and array.dtype.kind != "b":
                raise ValueError(f"values of type {array.dtype} are not booleans")
            array = array.astype(bool)  # an empty list reads as float64
        elif dtype.kind in "iu":
            array = _integers(data, dtype, where, name)
        else:
            array = np.asarray(data).ravel()
            if array.dtype != dtype:  # FP64 from JSON numbers is already its own type
                array = _floats(array, dtype, where, name)
    except (ValueError, TypeError, OverflowError, FloatingPointError) as exc:
        raise SchemaError(f"{where}: data does not match its datatype: {exc}", field=name) from None
    if array.size != count:
        raise SchemaError(
            f"{where}: shape says {count} element(s), data has {array.size}", field=name
        )
    return array


def _floats(
    array: np.ndarray[Any, Any], dtype: np.dtype[Any], where: str, name: str
) -> np.ndarray[Any, Any]:
    """Numbers as the float ``dtype``: a value beyond its range is a SchemaError naming the
    input and the range, never a silent infinity."""
    if array.size and array.dtype.kind not in "iufb":
        raise ValueError(f"values of type {_what(array)} are not numbers")
    with np.errstate(over="raise", invalid="raise"):
        try:
            return array.astype(dtype, casting="unsafe")
        except FloatingPointError:
            limit = float(np.finfo(dtype).max)
            raise SchemaError(
                f"{where}: a value is out of range for {v2_datatype(dtype)} "
                f"(-{limit:g} to {limit:g})",
                field=name,
            ) from None


def _integers(data: list[Any], dtype: np.dtype[Any], where: str, name: str) -> np.ndarray[Any, Any]:
    """JSON integers as ``dtype``: a value outside the type's range is a SchemaError naming
    the input and the range, never wrapped around (INT16 70000 is not 4464)."""
    array = np.asarray(data).ravel()
    if not array.size:
        return array.astype(dtype)
    if array.dtype.kind in "iu":
        low, high = int(array.min()), int(array.max())
    else:  # floats, or integers no machine type holds (orjson reads those as floats)
        values = np.asarray(data, dtype=object).ravel().tolist()
        numbers = [v for v in values if isinstance(v, int | float)]
        if len(numbers) < len(values):
            raise ValueError(f"values of type {_what(array)} are not numbers")
        if any(isinstance(v, float) and not (v.is_integer() and abs(v) >= 2**53) for v in values):
            raise ValueError(f"{v2_datatype(dtype)} takes integers, not fractional numbers")
        array = np.asarray([int(v) for v in values], dtype=object)
        low, high = int(array.min()), int(array.max())
    limits = np.iinfo(dtype)
    if low < limits.min or high > limits.max:
        raise SchemaError(
            f"{where}: {low if low < limits.min else high} is out of range for "
            f"{v2_datatype(dtype)} ({limits.min} to {limits.max})",
            field=name,
        )
    return array.astype(dtype)


def _what(array: np.ndarray[Any, Any]) -> str:
    return "text" if array.dtype.kind in "OUS" else str(array.dtype)


def _from_bytes(
    chunk: bytes, dtype: np.dtype[Any], count: int, where: str, name: str
) -> np.ndarray[Any, Any]:
    if dtype.kind == "O":
        items: list[bytes] = []
        pos = 0
        while pos < len(chunk):
            if pos + 4 > len(chunk):
                raise SchemaError(f"{where}: truncated BYTES element length", field=name)
            (length,) = struct.unpack_from("<I", chunk, pos)
            pos += 4
            if pos + length > len(chunk):
                raise SchemaError(f"{where}: truncated BYTES element", field=name)
            items.append(chunk[pos : pos + length])
            pos += length
        array = np.empty(len(items), dtype=object)
        array[:] = [_text(b) for b in items]
    else:
        if len(chunk) != count * dtype.itemsize:
            raise SchemaError(
                f"{where}: shape needs {count * dtype.itemsize} bytes of {v2_datatype(dtype)}, "
                f"got {len(chunk)}",
                field=name,
            )
        array = np.frombuffer(chunk, dtype=dtype)
        if dtype.kind == "f" and np.isinf(array).any():
            raise SchemaError(
                f"{where}: holds an infinite value; {v2_datatype(dtype)} inputs must be finite "
                "numbers (or NaN where a value is missing)",
                field=name,
            )
    if array.size != count:
        raise SchemaError(
            f"{where}: shape says {count} element(s), data has {array.size}", field=name
        )
    return array


def _text(raw: bytes) -> str | bytes:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


# --------------------------------------------------------------------------------------------
# responses


def output_tensor(name: str, values: Any) -> np.ndarray[Any, Any]:
    """Model output as a numpy array (lists, Series and frames included)."""
    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.dtype.kind in "US":
        array = array.astype(object)
    return array


def encode_response(
    request: InferRequest | None,
    model_name: str,
    model_version: str,
    outputs: list[tuple[str, np.ndarray[Any, Any]]],
    parameters: dict[str, Any],
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header length when binary outputs follow it."""
    docs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, array in outputs:
        doc: dict[str, Any] = {
            "name": name,
            "datatype": v2_datatype(array.dtype),
            "shape": list(array.shape),
        }
        if request is not None and request.wants_binary(name):
            raw = _to_bytes(array)
            doc["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        elif array.dtype.kind == "O":
            doc["data"] = [_jsonable(v) for v in array.ravel().tolist()]
        else:
            doc["data"] = np.ascontiguousarray(array).ravel()
        docs.append(doc)
    body: dict[str, Any] = {
        "model_name": model_name,
        "model_version": model_version,
        "outputs": docs,
        "parameters": parameters,
    }
    if request is not None and request.id is not None:
        body["id"] = request.id
    header = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    if not chunks:
        return header, None
    return header + b"".join(chunks), len(header)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def _to_bytes(array: np.ndarray[Any, Any]) -> bytes:
    if array.dtype.kind != "O":
        return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    parts = []
    for value in array.ravel().tolist():
        raw = value if isinstance(value, bytes) else str(value).encode()
        parts.append(struct.pack("<I", len(raw)))
        parts.append(raw)
    return b"".join(parts)
