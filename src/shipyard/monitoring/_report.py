"""Monitor reports: one self-contained HTML file (inline SVG plots, no scripts, no CDN, opens
offline) and the same content as JSON for machines.

The report shows the latest run: per column the reference and current distributions side by
side (the reference's quantile bins or levels), the test table, and the performance and
share of drifted columns over the monitor's run history.
"""

from __future__ import annotations

import html
import itertools
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from shipyard.client import Store
from shipyard.entities import MonitorRunStatus
from shipyard.errors import InvalidArgument, NotFound
from shipyard.monitoring._profile import ColumnProfile, load_profile

_REF, _CUR = "#7f8c8d", "#e67e22"


def report_data(name: str, *, limit: int = 200, store: Store | None = None) -> dict[str, Any]:
    """The report as JSON-friendly data: the monitor, its latest run and the history."""
    from shipyard.tracking import get_client

    store = store or get_client().store
    monitor = store.get_monitor(name)
    runs = store.list_monitor_runs(name, limit)
    if not runs:
        raise NotFound(
            f"monitor {name!r} has not run yet; run it first with `shipyard monitor run {name}`",
            field="monitor",
        )
    latest = next((r for r in runs if r.status == MonitorRunStatus.OK), runs[0])
    reference, outputs = (
        _shares_of(latest.result.get(key), store) for key in ("reference", "output_reference")
    )
    history = [
        {
            "started_at": r.started_at,
            "window_end": r.window_end,
            "status": r.status,
            "model_version": r.model_version,
            "metrics": {k: v for k, v in r.result.get("metrics", {}).items() if "." not in k},
            "error": r.error,
        }
        for r in reversed(runs)
    ]
    return {
        "monitor": monitor.to_dict(),
        "latest": latest.to_dict(),
        "reference": reference,
        "output_reference": outputs,
        "history": history,
    }


def _shares_of(digest: str | None, store: Store) -> dict[str, Any]:
    """Per column of a stored profile, its reference shares (for the plots)."""
    if not digest:
        return {}
    profile = load_profile(digest, store)
    return {n: _ref_shares(c) for n, c in profile.columns.items()}


def _ref_shares(column: ColumnProfile) -> dict[str, Any]:
    if column.kind == "numeric":
        total = sum(column.bin_counts) or 1
        return {"edges": column.edges, "shares": [c / total for c in column.bin_counts]}
    total = sum(column.levels.values()) or 1
    return {"levels": {k: v / total for k, v in column.levels.items()}}


def _bars(labels: Sequence[str], ref: Sequence[float], cur: Sequence[float]) -> str:
    """A grouped bar chart (reference grey, current orange) as inline SVG."""
    width, height, pad = 420, 150, 20
    n = max(len(labels), 1)
    top = max([*ref, *cur, 1e-9])
    slot = (width - 2 * pad) / n
    parts = [f'<svg width="{width}" height="{height + 30}" xmlns="http://www.w3.org/2000/svg">']
    for i, label in enumerate(labels):
        x = pad + i * slot
        for j, (value, color) in enumerate(((ref[i], _REF), (cur[i], _CUR))):
            h = value / top * height
            parts.append(
                f'<rect x="{x + j * slot / 2:.1f}" y="{height - h:.1f}" width="{slot / 2 - 1:.1f}" '
                f'height="{h:.1f}" fill="{color}"><title>{html.escape(label)}: '
                f"{value:.3f}</title></rect>"
            )
        if n <= 12:
            parts.append(
                f'<text x="{x + slot / 2:.1f}" y="{height + 14}" font-size="9" '
                f'text-anchor="middle">{html.escape(label[:10])}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _line(points: Sequence[tuple[int, float]], label: str) -> str:
    """A line chart of (time, value) as inline SVG."""
    width, height, pad = 420, 140, 30
    if not points:
        return ""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    coords = " ".join(
        f"{pad + (x - x0) / (x1 - x0) * (width - 2 * pad):.1f},"
        f"{height - pad - (y - y0) / (y1 - y0) * (height - 2 * pad):.1f}"
        for x, y in points
    )
    return (
        f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">'
        f'<polyline points="{coords}" fill="none" stroke="{_CUR}" stroke-width="2"/>'
        f'<text x="{pad}" y="14" font-size="11">{html.escape(label)} '
        f"({y0:.3g} to {y1:.3g})</text></svg>"
    )


def _distribution(column: dict[str, Any], reference: dict[str, Any]) -> str:
    current = column.get("current", {})
    if "edges" in reference and current.get("bin_counts"):
        edges = reference["edges"]
        labels = [f"<{edges[0]:.3g}"] if edges else ["all"]
        labels += [f"{a:.3g}-{b:.3g}" for a, b in itertools.pairwise(edges)]
        labels += [f">={edges[-1]:.3g}"] if edges else []
        counts = current["bin_counts"]
        total = sum(counts) or 1
        return _bars(labels, reference["shares"], [c / total for c in counts])
    if "levels" in reference:
        levels = dict(reference["levels"])
        cur = current.get("levels", {})
        total = sum(cur.values()) or 1
        names = list(dict.fromkeys([*levels, *cur]))[:20]
        return _bars(
            names, [levels.get(x, 0.0) for x in names], [cur.get(x, 0) / total for x in names]
        )
    return "<p>(no distribution)</p>"


def _column_block(column: dict[str, Any], reference: dict[str, Any]) -> str:
    """One column's heading (red when drifted) and its reference-vs-current plot."""
    mark = " class='bad'" if column["drifted"] else ""
    return (
        f"<div class='col'><h3{mark}>{html.escape(column['column'])} ({column['kind']})</h3>"
        f"{_distribution(column, reference)}</div>"
    )


def _tests_table(columns: Sequence[dict[str, Any]], title: str = "Tests") -> str:
    """The test table of some columns: statistic, p-value, threshold and verdict."""
    out = [
        f"<h2>{title}</h2><table><tr><th>column</th><th>test</th><th>statistic</th>"
        "<th>p-value</th><th>threshold</th><th>verdict</th></tr>"
    ]
    for column in columns:
        for test in column["tests"]:
            p = "" if test["p_value"] is None else f"{test['p_value']:.3g}"
            verdict = "<span class='bad'>drift</span>" if test["verdict"] else "ok"
            out.append(
                f"<tr><td>{html.escape(column['column'])}</td><td>{test['test']}</td>"
                f"<td>{test['statistic']:.4g}</td><td>{p}</td>"
                f"<td>{test['threshold']:.3g}</td><td>{verdict}</td></tr>"
            )
    out.append("</table>")
    return "".join(out)


def render_html(data: dict[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    monitor, latest = data["monitor"], data["latest"]
    esc = html.escape
    when = datetime.fromtimestamp(latest["window_end"] / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Monitor {esc(monitor['name'])}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:1000px}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;"
        "font-size:13px}.bad{color:#c0392b;font-weight:bold}.col{display:inline-block;"
        "margin:0 1em 1em 0;vertical-align:top}</style></head><body>",
        f"<h1>Monitor {esc(monitor['name'])}</h1>",
        f"<p>Model {esc(monitor['model'])} (version {latest['model_version']}), window "
        f"{esc(monitor['window'])} ending {when}; status <b>{esc(latest['status'])}</b> "
        f"{esc(latest.get('error', ''))}</p>",
    ]
    drift = latest["result"].get("drift")
    if drift:
        flagged = esc(", ".join(drift["drifted_columns"]) or "none")
        out.append(
            f"<h2>Drift</h2><p>{drift['n_current']} rows; share of drifted columns "
            f"<b>{drift['share_drifted']:.2f}</b>: {flagged}"
            f"</p><p><span style='color:{_REF}'>&#9632; reference</span> "
            f"<span style='color:{_CUR}'>&#9632; current</span></p>"
        )
        for column in drift["columns"]:
            ref = data["reference"].get(column["column"], {})
            out.append(_column_block(column, ref))
        out.append(_tests_table(drift["columns"]))
    outputs = [(part, latest["result"].get(f"{part}_drift")) for part in ("prediction", "target")]
    if any(found for _, found in outputs):
        out.append("<h2>Prediction and target drift</h2>")
        done = []
        for part, found in outputs:
            if not found:
                continue
            if "skipped" in found:
                out.append(f"<p>{part}: not tested ({esc(str(found['skipped']))})</p>")
                continue
            ref = data.get("output_reference", {}).get(part, {})
            out.append(_column_block(found, ref))
            done.append(found)
        if done:
            out.append(_tests_table(done, "Prediction and target tests"))
    out.append("<h2>Over time</h2>")
    keys = sorted({k for h in data["history"] for k in h["metrics"]})
    for key in keys:
        points = [
            (h["window_end"], float(h["metrics"][key]))
            for h in data["history"]
            if h["metrics"].get(key) is not None
        ]
        out.append(f"<div class='col'>{_line(points, key)}</div>")
    alerts = latest["result"].get("alerts", {})
    if alerts:
        out.append("<h2>Alerts</h2><table><tr><th>rule</th><th>firing</th><th>value</th></tr>")
        for rule, state in alerts.items():
            out.append(
                f"<tr><td>{esc(rule)}</td><td>{'yes' if state.get('firing') else 'no'}</td>"
                f"<td>{state.get('value')}</td></tr>"
            )
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(
    name: str, output: str, *, as_json: bool = False, store: Store | None = None
) -> str:
    """Write the report of monitor ``name`` to ``output`` (HTML, or JSON); returns the path.

    The format follows the path: a ``.json`` path gets JSON, ``-`` (standard output) gets
    JSON with ``as_json``, anything else HTML. JSON is never written to another path
    (``as_json`` with one is an InvalidArgument naming ``output``), so an HTML report is
    never replaced by JSON.
    """
    to_json = output.lower().endswith(".json") or (as_json and output == "-")
    if as_json and not to_json:
        raise InvalidArgument(
            f"--output {output!r}: a JSON report goes to a .json path or to standard "
            "output ('-'), never over another file",
            field="output",
        )
    data = report_data(name, store=store)
    text = json.dumps(data, indent=2, default=str) if to_json else render_html(data)
    if output == "-":
        sys.stdout.write(text + "\n")
        return output
    with open(output, "w", encoding="utf-8") as fh:
        fh.write(text)
    return output
