"""Render model inputs (DataFrames, mappings, lists of dicts) as compact markdown for prompts."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ml.llm.errors import PromptInputError

Tabular = Any  # a pandas DataFrame, {key: {col: value}}, [{col: value}], or {name: scalar}


def fmt(value: Any) -> str:
    """Numbers to at most 6 significant digits; NaN/inf as ``n/a``; pipes escaped."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "n/a" if not math.isfinite(value) else f"{value:.6g}"
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        return fmt(value.item())
    return str(value).replace("|", "\\|").replace("\n", " ")


def to_rows(table: Tabular, name: str, key: str = "symbol") -> list[dict[str, Any]]:
    """Normalise ``table`` to a list of row dicts; raises PromptInputError for other types."""
    if table is None:
        return []
    if hasattr(table, "to_dict") and hasattr(table, "columns"):  # a pandas DataFrame
        named_index = any(n is not None for n in table.index.names)
        frame = table.reset_index() if named_index else table
        return [dict(r) for r in frame.to_dict("records")]
    if isinstance(table, Mapping):
        if all(isinstance(v, Mapping) for v in table.values()):
            return [{key: k, **dict(v)} for k, v in table.items()]
        if all(not isinstance(v, Mapping | list | tuple) for v in table.values()):
            return [{"name": k, "value": v} for k, v in table.items()]
        raise PromptInputError(f"{name}: a mapping must hold either all rows or all scalars")
    if isinstance(table, Sequence) and not isinstance(table, str | bytes):
        if not all(isinstance(r, Mapping) for r in table):
            raise PromptInputError(f"{name}: a list must hold dicts (one per row)")
        return [dict(r) for r in table]
    raise PromptInputError(f"{name}: expected a DataFrame, a mapping or a list of dicts, "
                           f"got {type(table).__name__}")


def markdown_table(rows: list[dict[str, Any]], max_rows: int = 50) -> str:
    """A GitHub-style markdown table over the union of the rows' columns (first-seen order)."""
    if not rows:
        return "_(none)_"
    columns: list[str] = []
    for row in rows:
        columns.extend(c for c in row if c not in columns)
    lines = ["| " + " | ".join(map(str, columns)) + " |", "|" + "---|" * len(columns)]
    for row in rows[:max_rows]:
        lines.append("| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |")
    if len(rows) > max_rows:
        lines.append(f"\n_({len(rows) - max_rows} more rows omitted)_")
    return "\n".join(lines)
