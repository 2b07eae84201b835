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


def decompress(raw: bytes) -> bytes:
    """LZMA-decompress a datafeed file; an empty file stays empty."""
    if not raw:
        return b""
    try:
        return lzma.decompress(raw)
    except (lzma.LZMAError, EOFError) as exc:
        raise CorruptFileError(f"corrupt LZMA stream ({len(raw)} bytes): {exc}") from exc


def raw_records(raw: bytes, dtype: np.dtype) -> np.ndarray:
    """Decompress ``raw`` and view it as records of ``dtype``; reject partial records."""
    data = decompress(raw)
    if len(data) % dtype.itemsize:
        raise CorruptFileError(
            f"decompressed length {len(data)} is not a multiple of the "
            f"{dtype.itemsize}-byte record size"
        )
    return np.frombuffer(data, dtype=dtype)


def decode_ticks(raw: bytes, hour_start_ms: int, price_scale: float) -> pd.DataFrame:
    """Decode one hourly tick file into a frame with exactly ``TICK_COLUMNS``.

    ``hour_start_ms`` is the UTC epoch millisecond of the hour; prices are ``int / price_scale``.
    """
    return ticks_frame(raw_records(raw, TICK_DTYPE), hour_start_ms, price_scale)


def ticks_frame(rec: np.ndarray, hour_start_ms: int, price_scale: float) -> pd.DataFrame:
    """Turn decompressed tick records (``TICK_DTYPE``) into a ``TICK_COLUMNS`` frame."""
    return pd.DataFrame(
        {
            "ts_ms": rec["ms"].astype(np.int64) + np.int64(hour_start_ms),
            "bid": rec["bid"].astype(np.float64) / price_scale,
            "ask": rec["ask"].astype(np.float64) / price_scale,
            "bid_volume": rec["bid_vol"].astype(np.float64),
            "ask_volume": rec["ask_vol"].astype(np.float64),
        },
        columns=TICK_COLUMNS,
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
