"""The Dukascopy ``.bi5`` codec: LZMA-compressed big-endian tick and candle records.

Tick records are 20 bytes ``>u4 ms, >u4 ask, >u4 bid, >f4 ask_vol, >f4 bid_vol``; candle
records are 24 bytes ``>u4 seconds, >u4 open, >u4 close, >u4 low, >u4 high, >f4 volume``
(note the O, C, L, H order). Decoding is one ``np.frombuffer`` per file, no per-record Python.
"""

from __future__ import annotations

import lzma

import numpy as np
import pandas as pd

from marketdata.errors import CorruptFileError
from marketdata.schema import TICK_COLUMNS

CANDLE_COLUMNS = ["ts_ms", "open", "high", "low", "close", "volume"]

TICK_DTYPE = np.dtype(
    [("ms", ">u4"), ("ask", ">u4"), ("bid", ">u4"), ("ask_vol", ">f4"), ("bid_vol", ">f4")]
)
CANDLE_DTYPE = np.dtype(
    [
        ("sec", ">u4"),
        ("open", ">u4"),
        ("close", ">u4"),
        ("low", ">u4"),
        ("high", ">u4"),
        ("volume", ">f4"),
    ]
)


HOUR_MS = 3_600_000


def decompress(raw: bytes, name: str = "") -> bytes:
    """LZMA-decompress a datafeed file; an empty file stays empty. ``name`` goes in errors."""
    if not raw:
        return b""
    try:
        return lzma.decompress(raw)
    except (lzma.LZMAError, EOFError) as exc:
        where = f"{name}: " if name else ""
        raise CorruptFileError(f"{where}corrupt LZMA stream ({len(raw)} bytes): {exc}") from exc


def raw_records(raw: bytes, dtype: np.dtype, name: str = "") -> np.ndarray:
    """Decompress ``raw`` and view it as records of ``dtype``; reject partial records."""
    data = decompress(raw, name)
    if len(data) % dtype.itemsize:
        where = f"{name}: " if name else ""
        raise CorruptFileError(
            f"{where}decompressed length {len(data)} is not a multiple of the "
            f"{dtype.itemsize}-byte record size"
        )
    return np.frombuffer(data, dtype=dtype)


def hour_tick_records(raw: bytes, name: str = "") -> np.ndarray:
    """The validated tick records of one hourly file (``TICK_DTYPE``), as a zero-copy view.

    Rejects what cannot be a real hour: a bad LZMA stream, a partial record, a millisecond
    offset outside the hour, or a price that is not positive. This is the part that runs in
    worker threads: ``lzma`` releases the GIL, and the checks are whole-array numpy calls.
    """
    rec = raw_records(raw, TICK_DTYPE, name)
    if rec.size:
        where = f"{name}: " if name else ""
        if int(rec["ms"].max()) >= HOUR_MS:
            raise CorruptFileError(f"{where}tick offset {int(rec['ms'].max())} ms is past the hour")
        if int(rec["bid"].min()) == 0 or int(rec["ask"].min()) == 0:
            raise CorruptFileError(f"{where}zero price in tick records")
    return rec


def day_tick_columns(
    hours: list[np.ndarray], hour_starts_ms: list[int], price_scale: float
) -> dict[str, np.ndarray]:
    """The ``TICK_COLUMNS`` arrays (int64 ts_ms, float64 the rest) of a day's hourly records.

    The hours are joined once (a copy of the raw 20-byte records) and each column is then one
    whole-day ufunc pass: the big-endian fields are cast, offset and scaled in the same loop,
    and each tick's hour start comes from ``np.repeat``, not from a Python loop over the hours.
    Files are in time order and offsets rise within a file, so the result is sorted unless a
    file breaks that rule, in which case it is sorted (stably) here.
    """
    rec = np.concatenate(hours) if hours else np.empty(0, TICK_DTYPE)
    ts = np.repeat(np.asarray(hour_starts_ms, np.int64), [len(h) for h in hours])
    ts += rec["ms"]
    cols = {
        "ts_ms": ts,
        # a true division, as in ``ticks_frame``: prices must be bit-identical either way
        "bid": np.divide(rec["bid"], price_scale, dtype=np.float64),
        "ask": np.divide(rec["ask"], price_scale, dtype=np.float64),
        "bid_volume": rec["bid_vol"].astype(np.float64),
        "ask_volume": rec["ask_vol"].astype(np.float64),
    }
    if len(ts) > 1 and not (ts[1:] >= ts[:-1]).all():
        order = np.argsort(ts, kind="stable")
        cols = {c: col[order] for c, col in cols.items()}
    return cols


def day_ticks_frame(
    hours: list[np.ndarray], hour_starts_ms: list[int], price_scale: float
) -> pd.DataFrame:
    """One ``TICK_COLUMNS`` frame from a day's hourly records (see :func:`day_tick_columns`)."""
    # copy=False: pandas keeps one block per column, and pyarrow later takes each as it is
    return pd.DataFrame(day_tick_columns(hours, hour_starts_ms, price_scale), copy=False)


def decode_ticks(raw: bytes, hour_start_ms: int, price_scale: float) -> pd.DataFrame:
    """Decode one hourly tick file into a frame with exactly ``TICK_COLUMNS``.

    ``hour_start_ms`` is the UTC epoch millisecond of the hour; prices are ``int / price_scale``.
    """
    return ticks_frame(raw_records(raw, TICK_DTYPE), hour_start_ms, price_scale)


def ticks_frame(rec: np.ndarray, hour_start_ms: int, price_scale: float) -> pd.DataFrame:
    """Turn decompressed tick records (``TICK_DTYPE``) into a ``TICK_COLUMNS`` frame."""
    return _frame(rec["ms"].astype(np.int64) + np.int64(hour_start_ms), rec, price_scale)


def _frame(ts_ms: np.ndarray, rec: np.ndarray, price_scale: float) -> pd.DataFrame:
    # Fresh arrays and copy=False: pandas keeps one block per column instead of copying the
    # four floats into a 2-D block, and pyarrow later takes each column as it is.
    return pd.DataFrame(
        {
            "ts_ms": ts_ms,
            "bid": rec["bid"].astype(np.float64) / price_scale,
            "ask": rec["ask"].astype(np.float64) / price_scale,
            "bid_volume": rec["bid_vol"].astype(np.float64),
            "ask_volume": rec["ask_vol"].astype(np.float64),
        },
        columns=TICK_COLUMNS,
        copy=False,
    )


def decode_candles(raw: bytes, start_ms: int, price_scale: float) -> pd.DataFrame:
    """Decode a candle file (minute, hour or day) into ``ts_ms, open, high, low, close, volume``.

    ``start_ms`` is the UTC epoch millisecond at which the file's period starts.
    """
    rec = raw_records(raw, CANDLE_DTYPE)
    return pd.DataFrame(
        {
            "ts_ms": rec["sec"].astype(np.int64) * 1000 + np.int64(start_ms),
            "open": rec["open"].astype(np.float64) / price_scale,
            "high": rec["high"].astype(np.float64) / price_scale,
            "low": rec["low"].astype(np.float64) / price_scale,
            "close": rec["close"].astype(np.float64) / price_scale,
            "volume": rec["volume"].astype(np.float64),
        },
        columns=CANDLE_COLUMNS,
    )
