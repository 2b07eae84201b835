"""The tearsheet as files: one PNG per figure, a JSON of the figures' data, and a self-contained
HTML page (figures inlined as data URIs, the same data embedded as JSON, no external assets)."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from ml.report.data import Tearsheet, summary_table
from ml.report.figures import render_figures

MAX_CURVE_POINTS = 2000  # curves in the JSON are thinned to this many marks (the last one kept)
HTML_NAME, JSON_NAME = "tearsheet.html", "tearsheet.json"


def _num(v: Any) -> Any:
    if isinstance(v, float | int) and not isinstance(v, bool):
        return float(v) if math.isfinite(float(v)) else None
    return v


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_CURVE_POINTS:
        return frame
    step = math.ceil(len(frame) / MAX_CURVE_POINTS)
    keep = list(range(0, len(frame), step))
    if keep[-1] != len(frame) - 1:
        keep.append(len(frame) - 1)
    return frame.iloc[keep]


def _curve(frame: pd.DataFrame) -> dict[str, Any]:
    thin = _thin(frame)
    return {"ts": [t.isoformat() for t in pd.DatetimeIndex(thin.index)],
            **{str(c): [_num(v) for v in thin[c].to_numpy(dtype=float)] for c in thin.columns}}


def _trades(t: pd.DataFrame) -> list[dict[str, Any]]:
    cols = ["entry_time", "exit_time", "direction", "lots", "entry_price", "exit_price", "pnl"]
    return [{k: (v.isoformat() if isinstance(v, pd.Timestamp) else _num(v)) for k, v in row.items()}
            for row in t[cols].to_dict("records")]


def tearsheet_data(sheet: Tearsheet) -> dict[str, Any]:
    """The figures' data as plain JSON types (curves thinned to MAX_CURVE_POINTS)."""
    monthly = sheet.monthly_returns
    return {
        "title": sheet.title,
        "metrics": {s: {k: _num(v) for k, v in m.items()} for s, m in sheet.metrics.items()},
        "equity": _curve(sheet.equity),
        "drawdown": _curve(sheet.drawdown),
        "rolling_sharpe": {"window": sheet.window, **_curve(sheet.rolling_sharpe)},
        "monthly_returns": {str(y): {str(m): _num(monthly.loc[y, m]) for m in monthly.columns}
                            for y in monthly.index},
        "costs": {str(s): {k: _num(v) for k, v in row.items()} for s, row in sheet.costs.iterrows()},
        "trades": {s: _trades(t) for s, t in sheet.trades.items()},
        "feature_importance": ({str(k): _num(v) for k, v in sheet.importances.items()}
                               if sheet.importances is not None else {}),
    }


def markdown_table(frame: pd.DataFrame, fmt: str = "{:.4g}") -> str:
    """A GitHub-flavoured markdown table (Dagster metadata renders it)."""
    head = "| | " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|---" * (len(frame.columns) + 1) + "|"
    rows = ["| " + str(i) + " | " + " | ".join(
        fmt.format(v) if isinstance(v, float | int) and not isinstance(v, bool) else str(v)
        for v in row) + " |" for i, row in zip(frame.index, frame.to_numpy(), strict=True)]
    return "\n".join([head, rule, *rows])


def _html_table(frame: pd.DataFrame, pct: bool = False) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            if not math.isfinite(v):
                return ""
            return f"{v * 100:.2f}%" if pct else f"{v:,.4g}"
        return html.escape(str(v))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr><th>" + html.escape(str(i)) + "</th>" + "".join(f"<td>{cell(v)}</td>" for v in row)
                   + "</tr>" for i, row in zip(frame.index, frame.to_numpy(dtype=object), strict=True))
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


_STYLE = ("body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
          "margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
          "img{max-width:100%;display:block;margin:1em 0}h2{margin-top:2em}")


def render_html(sheet: Tearsheet, figures: dict[str, bytes]) -> str:
    """The page: headline metrics, costs, monthly returns, importances, every figure inlined."""
    data = json.dumps(tearsheet_data(sheet)).replace("</", "<\\/")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(sheet.title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(sheet.title)}</h1>",
             "<h2>Summary</h2>", _html_table(summary_table(sheet)),
             "<h2>Costs (account currency)</h2>", _html_table(sheet.costs),
             "<h2>Monthly returns</h2>", _html_table(sheet.monthly_returns, pct=True)]
    if sheet.importances is not None and len(sheet.importances):
        parts += ["<h2>Feature importance</h2>", _html_table(sheet.importances.to_frame())]
    for name, png in figures.items():
        b64 = base64.b64encode(png).decode()
        parts.append(f"<h2>{name.replace('_', ' ')}</h2><img id='fig-{name}' alt='{name}' "
                     f"src='data:image/png;base64,{b64}'>")
    parts.append(f"<script type='application/json' id='tearsheet-data'>{data}</script></body></html>")
    return "".join(parts)


def write_report(sheet: Tearsheet, directory: Path) -> dict[str, Path]:
    """Write ``<name>.png`` per figure, ``tearsheet.json`` and ``tearsheet.html`` to ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    figures = render_figures(sheet)
    paths = {}
    for name, png in figures.items():
        paths[name] = directory / f"{name}.png"
        paths[name].write_bytes(png)
    paths["json"] = directory / JSON_NAME
    paths["json"].write_text(json.dumps(tearsheet_data(sheet)))
    paths["html"] = directory / HTML_NAME
    paths["html"].write_text(render_html(sheet, figures))
    return paths


def write_html(sheet: Tearsheet, path: Path) -> Path:
    """Only the self-contained HTML page, at ``path`` (e.g. a backtest's ``--report`` file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(sheet, render_figures(sheet)))
    return path
