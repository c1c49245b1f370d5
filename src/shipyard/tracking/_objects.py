"""Turning Python objects into artifact files: dict/list -> JSON, DataFrame -> Parquet,
matplotlib figure -> PNG, plotly figure -> HTML, text -> .txt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument


def _kind(obj: Any) -> str | None:
    module = type(obj).__module__
    name = type(obj).__name__
    if isinstance(obj, (dict, list)):
        return "json"
    if isinstance(obj, str):
        return "text"
    if module.startswith("pandas") and name == "DataFrame":
        return "parquet"
    if module.startswith("matplotlib") and name == "Figure":
        return "png"
    if module.startswith("plotly") and name == "Figure":
        return "html"
    return None


SUFFIX = {"json": ".json", "text": ".txt", "parquet": ".parquet", "png": ".png", "html": ".html"}


def write_object(obj: Any, folder: Path, name: str) -> Path:
    """Serialize ``obj`` into ``folder``; ``name`` gets the format's suffix if it has none."""
    kind = _kind(obj)
    if kind is None:
        raise InvalidArgument(
            f"cannot log a {type(obj).__name__} as an artifact; supported: dict/list (JSON), "
            "str (text), pandas DataFrame (Parquet), matplotlib/plotly figures, or a file path",
            field="obj",
        )
    target = folder / (name if Path(name).suffix else name + SUFFIX[kind])
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "json":
        try:
            target.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str))
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(f"cannot write {name!r} as JSON: {exc}", field="obj") from None
    elif kind == "text":
        target.write_text(obj)
    elif kind == "parquet":
        obj.to_parquet(target, index=False)
    elif kind == "png":
        obj.savefig(target, format="png", bbox_inches="tight")
    else:
        obj.write_html(target, include_plotlyjs=True, full_html=True)
    return target
