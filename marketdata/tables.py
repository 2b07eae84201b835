"""Table names and frame rules shared by every store backend (the API: ``store.MarketStore``).

Two kinds of table besides ticks and bars:

* **day tables** (``features``, and any new per-day table): one partition per (symbol, UTC day)
  with a ``ts`` column; writing a day replaces it, reads cover inclusive day ranges, sorted by ts.
* **keyed tables** (``backtest_trades``, ``backtest_equity``, ...): rows grouped by a key of string
  columns (e.g. strategy and model version); writing a key replaces its rows, the key columns
  come first in the stored rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import pandas as pd

from marketdata.errors import StoreError

FEATURES = "features"
BACKTEST_TRADES = "backtest_trades"
BACKTEST_EQUITY = "backtest_equity"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY_VALUE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+=-]*$")
_RESERVED = {"ticks", "ingested_days"}


def normalise_ts(ts: pd.Series) -> pd.Series:
    """A tz-aware UTC nanosecond series (naive input is taken as UTC)."""
    if str(ts.dtype) == "datetime64[ns, UTC]":
        return ts  # already so: to_datetime would look at every value to decide how to parse
    ts = pd.to_datetime(ts)
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    return ts.astype("datetime64[ns, UTC]")


def check_table(name: str) -> str:
    """``name`` when it can name a day or keyed table; :class:`StoreError` otherwise."""
    if not _NAME_RE.match(name) or name in _RESERVED or name.startswith("bars_"):
        raise StoreError(f"bad table name {name!r}: lower-case letters, digits and _, "
                         "not ticks, bars_* or ingested_days")
    return name


def check_key(key: Mapping[str, str]) -> dict[str, str]:
    """A validated key: identifier column names, values safe in a file name; at least one column."""
    if not key:
        raise StoreError("a keyed table needs at least one key column")
    out = {}
    for col, value in key.items():
        if not _NAME_RE.match(col):
            raise StoreError(f"bad key column {col!r}")
        text = str(value)
        if not _KEY_VALUE_RE.match(text):
            raise StoreError(f"bad key value {text!r} for {col}: letters, digits and ._@+=- only")
        out[col] = text
    return out


def with_key(key: Mapping[str, str], df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the key columns (string dtype) first; a key column already in ``df`` must match."""
    out = df.copy()
    for col in reversed(list(key)):
        if col in out.columns:
            if len(out) and not (out[col].astype(str) == key[col]).all():
                raise StoreError(f"rows whose {col} differs from the key {key[col]!r}")
            out.pop(col)
        out.insert(0, col, pd.Series(key[col], index=out.index, dtype="string"))
    return out


def check_day_rows(day: dt.date, df: pd.DataFrame) -> pd.DataFrame:
    """A day-table frame: a tz-aware UTC ``ts`` inside ``day``, sorted; no symbol/date columns."""
    if "ts" not in df.columns:
        raise StoreError("a day table's frame needs a ts column")
    clash = {"symbol", "date"} & set(df.columns)
    if clash:
        raise StoreError(f"columns {sorted(clash)} are the partition's; drop them from the frame")
    out = df.reset_index(drop=True).copy()
    out["ts"] = normalise_ts(out["ts"])
    lo = pd.Timestamp(day, tz="UTC")
    if len(out) and (out["ts"].min() < lo or out["ts"].max() >= lo + pd.Timedelta(days=1)):
        raise StoreError(f"rows outside {day} would land in the wrong partition")
    return out.sort_values("ts", kind="stable", ignore_index=True)
