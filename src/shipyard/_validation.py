"""Checks on user input shared by the SDK (so errors surface at the call, not in a background
flush) and the store (so a server rejects bad input from any client)."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument

MAX_KEY_LEN = 250
MAX_NAME_LEN = 256
MAX_PARAM_VALUE_LEN = 6000
MAX_TAG_VALUE_LEN = 8000
_INT64 = 2**63 - 1
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-.: ]+$")
_IDENT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.@]{0,63}")
ALL_PROJECTS = "*"


def check_key(key: Any, kind: str = "key") -> str:
    """A metric, param or tag key: 1-250 characters of letters, digits, ``_ - . :`` or space.

    Path separators are refused because keys become file and URL path parts in exports.
    """
    if not isinstance(key, str) or not key:
        raise InvalidArgument(f"{kind} must be a non-empty string, got {key!r}", field=kind)
    if len(key) > MAX_KEY_LEN:
        raise InvalidArgument(
            f"{kind} {key[:40]!r}... is {len(key)} characters long; the limit is {MAX_KEY_LEN}",
            field=kind,
        )
    if "/" in key or "\\" in key:
        raise InvalidArgument(
            f"{kind} {key!r} contains a path separator; group names with '.' instead "
            f"(e.g. {key.replace('/', '.').replace(chr(92), '.')!r})",
            field=kind,
        )
    if key in {".", ".."} or not _KEY_RE.match(key) or key != key.strip():
        raise InvalidArgument(
            f"{kind} {key!r} has characters that are not allowed; use letters, digits, "
            "'_', '-', '.', ':' and inner spaces",
            field=kind,
        )
    return key


def check_name(name: Any, kind: str) -> str:
    """An experiment or run name: non-empty text of at most 256 characters."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidArgument(f"{kind} must be a non-empty string, got {name!r}", field=kind)
    return check_text(name, kind, MAX_NAME_LEN)


def check_text(value: Any, kind: str, max_len: int | None = None) -> str:
    """Free text (a description, a user field): a string without NUL characters (databases
    refuse them), of at most ``max_len`` characters."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{kind} must be a string, got {value!r}", field=kind)
    if max_len is not None and len(value) > max_len:
        raise InvalidArgument(
            f"{kind} is {len(value)} characters long; the limit is {max_len}", field=kind
        )
    if "\x00" in value:
        raise InvalidArgument(
            f"{kind} contains a NUL character, which cannot be stored", field=kind
        )
    return value


def check_identifier(value: Any, kind: str) -> str:
    """A project or user name: 1-64 letters, digits and ``_ - . @``, starting with a letter or
    digit (it appears in URLs, role grants and audit entries)."""
    if not isinstance(value, str) or not _IDENT_RE.fullmatch(value):
        raise InvalidArgument(
            f"{kind} {value!r} is not a valid name; use 1-64 letters, digits, '_', '-', '.' or "
            "'@', starting with a letter or digit",
            field=kind,
        )
    return value


def check_project(project: Any, *, allow_all: bool = False) -> str:
    """A project name, or ``*`` (every project) where a role grant allows it."""
    if allow_all and project == ALL_PROJECTS:
        return ALL_PROJECTS
    return check_identifier(project, "project")


def check_metric_value(key: str, value: Any) -> float:
    """A metric value must be a real number that fits in a 64-bit float (NaN and infinities
    are kept as such; an integer too large to convert, like ``10**400``, is refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgument(
            f"metric {key!r} got {_shown(value)} ({type(value).__name__}); metric values must "
            "be numbers: log text as a tag or param instead",
            field="value",
        )
    try:
        return float(value)
    except OverflowError:
        raise InvalidArgument(
            f"metric {key!r} got {_shown(value)}, which does not fit in a 64-bit float "
            "(the largest is about 1.8e308)",
            field="value",
        ) from None


def _metric(key: str | Sequence[str] | None) -> str:
    if key is None:
        return ""
    if isinstance(key, str):
        return f"metric {key!r}: "
    return f"metrics {', '.join(repr(k) for k in key[:5])}{', ...' if len(key) > 5 else ''}: "


def check_step(step: Any, key: str | Sequence[str] | None = None) -> int:
    """A metric step: an integer that fits in 64 bits (``key`` names the metric, or metrics,
    in errors)."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidArgument(
            f"{_metric(key)}step must be an integer, got {_shown(step)}", field="step"
        )
    if abs(int(step)) > _INT64:
        raise InvalidArgument(
            f"{_metric(key)}step {_shown(step)} does not fit in 64 bits", field="step"
        )
    return int(step)


def check_timestamp(timestamp: Any, key: str | Sequence[str] | None = None) -> int:
    """A timestamp in milliseconds since the epoch (``key`` names the metric, or metrics, in
    errors)."""
    if (
        isinstance(timestamp, bool)
        or not isinstance(timestamp, numbers.Integral)
        or not 0 <= int(timestamp) <= _INT64
    ):
        raise InvalidArgument(
            f"{_metric(key)}timestamp must be a non-negative integer of milliseconds, got "
            f"{_shown(timestamp)}",
            field="timestamp",
        )
    return int(timestamp)


def _shown(value: Any) -> str:
    """``repr(value)`` cut short, and a size instead of the digits of a huge integer (which
    Python refuses to print past 4300 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def param_text(key: str, value: Any) -> str:
    """Params are stored as text; the text form is limited to 6000 characters."""
    text = value if isinstance(value, str) else _plain_str(value)
    if len(text) > MAX_PARAM_VALUE_LEN:
        raise InvalidArgument(
            f"param {key!r} value is {len(text)} characters long; the limit is "
            f"{MAX_PARAM_VALUE_LEN}: log large values as an artifact",
            field="value",
        )
    return check_text(text, "value")


def tag_text(key: str, value: Any) -> str:
    """Tags are text of at most 8000 characters."""
    text = value if isinstance(value, str) else _plain_str(value)
    if len(text) > MAX_TAG_VALUE_LEN:
        raise InvalidArgument(
            f"tag {key!r} value is {len(text)} characters long; the limit is {MAX_TAG_VALUE_LEN}",
            field="value",
        )
    return check_text(text, "value")


def _plain_str(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return repr(value)
    return str(value)


def check_artifact_path(path: Any) -> str:
    """A relative, normalized POSIX path inside a run's artifact tree.

    Absolute paths, ``..`` parts, backslashes and empty parts are refused, so an artifact can
    never be written or read outside its tree.
    """
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidArgument(
            f"artifact path must be a non-empty string, got {path!r}", field="path"
        )
    if path.startswith("/") or "\\" in path or re.match(r"^[A-Za-z]:", path):
        raise InvalidArgument(
            f"artifact path {path!r} must be relative (no leading '/', drive or backslash)",
            field="path",
        )
    parts = path.split("/")
    if any(part in {"", ".", ".."} for part in parts):
        raise InvalidArgument(
            f"artifact path {path!r} has an empty, '.' or '..' part; use a plain relative path "
            "like 'plots/roc.png'",
            field="path",
        )
    if len(path) > 1024:
        raise InvalidArgument("artifact path is longer than 1024 characters", field="path")
    return path


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative`` for a checked artifact path, refusing a target that a symlink under
    ``root`` would redirect outside it (so a download never writes outside its destination)."""
    relative = check_artifact_path(relative)
    target = root / relative
    base = root.resolve()
    resolved = target.resolve()
    if resolved != base and base not in resolved.parents:
        raise InvalidArgument(
            f"{target} leads outside {root} through a symbolic link; download somewhere else",
            field="dest",
        )
    return target


_MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_ALIAS_RE = re.compile(r"^[a-z][a-z0-9_\-]*$")
MAX_ALIAS_LEN = 64
#: Aliases Shipyard resolves itself; nobody can point them at a version.
RESERVED_ALIASES = frozenset({"latest"})


def check_model_name(name: Any) -> str:
    """A registered model name: letters, digits, ``_ . -``, starting with a letter or digit.

    ``/`` and ``@`` are refused because they separate the name from a version or alias in
    references such as ``churn/3`` and ``churn@champion``.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"model name must be a non-empty string, got {name!r}", field="name")
    if len(name) > MAX_NAME_LEN:
        raise InvalidArgument(
            f"model name is {len(name)} characters long; the limit is {MAX_NAME_LEN}",
            field="name",
        )
    if not _MODEL_NAME_RE.match(name):
        raise InvalidArgument(
            f"model name {name!r} has characters that are not allowed; use letters, digits, "
            "'_', '.' and '-' (starting with a letter or digit), e.g. 'churn-model'",
            field="name",
        )
    return name


def check_alias(alias: Any, *, settable: bool = True) -> str:
    """An alias: lowercase letters, digits, ``_`` and ``-``, starting with a letter, at most
    64 characters. With ``settable``, the reserved ``latest`` is refused too."""
    if not isinstance(alias, str) or not alias:
        raise InvalidArgument(f"alias must be a non-empty string, got {alias!r}", field="alias")
    if len(alias) > MAX_ALIAS_LEN or not _ALIAS_RE.match(alias):
        raise InvalidArgument(
            f"alias {alias[:80]!r} is not allowed: use at most {MAX_ALIAS_LEN} lowercase "
            "letters, digits, '_' and '-', starting with a letter (e.g. 'champion')",
            field="alias",
        )
    if settable and alias in RESERVED_ALIASES:
        raise InvalidArgument(
            f"alias {alias!r} is reserved: it always means the highest version; pick another name",
            field="alias",
        )
    return alias


#: The largest version number: the database stores versions as 32-bit integers.
MAX_VERSION = 2**31 - 1


def check_version(version: Any) -> int:
    """A model version number: a positive integer the database can hold."""
    if isinstance(version, bool) or not isinstance(version, numbers.Integral) or version < 1:
        raise InvalidArgument(
            f"model version must be a positive integer, got {version!r}", field="version"
        )
    if int(version) > MAX_VERSION:
        raise InvalidArgument(
            f"model version {version} is out of range: versions go from 1 to {MAX_VERSION:,}",
            field="version",
        )
    return int(version)


_HEX = frozenset("0123456789abcdef")


def check_digest(digest: Any) -> str:
    """A sha256 digest as the blob store names blobs: 64 lowercase hex characters."""
    if not isinstance(digest, str) or len(digest) != 64 or not set(digest) <= _HEX:
        raise InvalidArgument(
            f"{digest!r} is not a sha256 digest (64 lowercase hex characters)", field="digest"
        )
    return digest
