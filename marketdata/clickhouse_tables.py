"""ClickHouse tables made from a frame's columns, and the frames read back from them.

Day tables and keyed tables take their columns from the first frame written: float -> Float64
(NaN kept), integer -> Int64, bool -> Bool, tz-aware or naive datetime -> DateTime64(3, 'UTC'),
anything else -> Nullable(String). Timestamps travel as epoch milliseconds in both directions,
so no client-side time-zone conversion can shift them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from marketdata.errors import StoreError

TS_TYPE = "DateTime64(3, 'UTC')"


def column_type(series: pd.Series) -> str:
    """The ClickHouse type that stores ``series`` without loss (to the millisecond)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "Bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "Int64"
    if pd.api.types.is_float_dtype(dtype):
        return "Float64"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return TS_TYPE
    return "Nullable(String)"


def create_sql(db: str, table: str, lead: dict[str, str], df: pd.DataFrame, order_by: list[str],
               partition_by: str | None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with the ``lead`` columns, then ``df``'s, in order."""
    cols = dict(lead)
    for name in df.columns:
        if not str(name).isidentifier():
            raise StoreError(f"column {name!r} cannot be a ClickHouse column name")
        cols.setdefault(str(name), column_type(df[name]))
    body = ",\n    ".join(f"`{n}` {t}" for n, t in cols.items())
    part = f" PARTITION BY {partition_by}" if partition_by else ""
    return (f"CREATE TABLE IF NOT EXISTS {db}.{table} (\n    {body}\n) ENGINE = MergeTree{part} "
            f"ORDER BY ({', '.join(order_by)})")


def to_insert(df: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """``df`` shaped for ``insert_df``: every column of ``types`` present, timestamps as UTC."""
    missing = set(types) - set(df.columns)
    extra = set(df.columns) - set(types)
    if missing or extra:
        raise StoreError(f"frame does not match the stored table: missing {sorted(missing)}, "
                         f"unknown {sorted(extra)}")
    out = df[list(types)].copy()
    for name, kind in types.items():
        if kind.startswith("DateTime64"):
            ts = pd.to_datetime(out[name])
            out[name] = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
        elif kind == "Nullable(String)":
            out[name] = out[name].astype(object).where(out[name].notna(), None)
            out[name] = out[name].map(lambda v: v if v is None else str(v))
    return out


def select_list(types: dict[str, str], skip: set[str]) -> str:
    """Columns to select, timestamps as epoch milliseconds under their own names."""
    return ", ".join(
        f"toUnixTimestamp64Milli(`{n}`) AS `{n}`" if t.startswith("DateTime64") else f"`{n}`"
        for n, t in types.items() if n not in skip
    )


def from_select(df: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """Undo :func:`select_list`: epoch milliseconds back to ``datetime64[ns, UTC]``, strings as
    pandas' string dtype."""
    for name in df.columns:
        kind = types.get(name, "")
        if kind.startswith("DateTime64"):
            df[name] = pd.to_datetime(df[name].astype(np.int64), unit="ms", utc=True).astype(
                "datetime64[ns, UTC]")
        elif kind in {"Nullable(String)", "String", "LowCardinality(String)"}:
            df[name] = df[name].astype("string")
    return df
