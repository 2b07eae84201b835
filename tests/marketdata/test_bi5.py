"""The .bi5 codec against the real Dukascopy fixtures and dukascopy-node's expected decodes."""

from __future__ import annotations

import json
import lzma
from pathlib import Path

import numpy as np
import pytest

from marketdata.bi5 import CANDLE_COLUMNS, TICK_DTYPE, decode_candles, decode_ticks, raw_records
from marketdata.datafeed import epoch_ms, parse_path
from marketdata.errors import CorruptFileError
from marketdata.schema import TICK_COLUMNS

EURUSD_HOUR = "EURUSD/2019/01/04/00h_ticks.bi5"


def expected(fixtures_dir: Path, name: str) -> list:
    return json.loads((fixtures_dir / "expected" / "dukascopy-node" / name).read_text())[
        "expectedOutput"
    ]


def test_tick_records_match_dukascopy_node_exactly(fixtures_dir: Path) -> None:
    raw = (fixtures_dir / EURUSD_HOUR).read_bytes()
    rec = raw_records(raw, TICK_DTYPE)
    want = np.array(expected(fixtures_dir, "decompressor_tick.json"), dtype=np.float64)
    assert len(rec) == len(want) == 3733
    got = np.column_stack(
        [rec["ms"], rec["ask"], rec["bid"], rec["ask_vol"].astype(np.float64), rec["bid_vol"]]
    ).astype(np.float64)
    np.testing.assert_array_equal(got, want)


def test_decode_ticks_frame(fixtures_dir: Path) -> None:
    raw = (fixtures_dir / EURUSD_HOUR).read_bytes()
    start = epoch_ms(parse_path(EURUSD_HOUR).start)
    df = decode_ticks(raw, start, 1e5)
    want = np.array(expected(fixtures_dir, "decompressor_tick.json"), dtype=np.float64)
    assert list(df.columns) == TICK_COLUMNS
    assert df["ts_ms"].dtype == np.int64
    assert all(df[c].dtype == np.float64 for c in TICK_COLUMNS[1:])
    np.testing.assert_array_equal(df["ts_ms"].to_numpy(), start + want[:, 0].astype(np.int64))
    np.testing.assert_array_equal(df["ask"].to_numpy(), want[:, 1] / 1e5)
    np.testing.assert_array_equal(df["bid"].to_numpy(), want[:, 2] / 1e5)
    np.testing.assert_array_equal(df["ask_volume"].to_numpy(), want[:, 3])
    np.testing.assert_array_equal(df["bid_volume"].to_numpy(), want[:, 4])
    # README: first tick 2019-02-04T00:00:00.994Z, ask 1.14545, bid 1.14543, bid_vol 2.06 (f32)
    first = df.iloc[0]
    assert first["ts_ms"] == 1549238400994
    assert (first["ask"], first["bid"]) == (1.14545, 1.14543)
    assert first["bid_volume"] == 2.059999942779541


@pytest.mark.parametrize(
    ("name", "path", "count"),
    [
        ("decompressor_m1.json", "EURUSD/2019/01/04/BID_candles_min_1.bi5", 1440),
        ("decompressor_h1.json", "EURUSD/2019/01/BID_candles_hour_1.bi5", 672),
        ("decompressor_d1.json", "EURUSD/2019/BID_candles_day_1.bi5", 365),
    ],
)
def test_candles_match_dukascopy_node(fixtures_dir: Path, name: str, path: str, count: int) -> None:
    info = parse_path(path)
    assert info is not None and info.kind == "candles"
    df = decode_candles((fixtures_dir / path).read_bytes(), epoch_ms(info.start), 1e5)
    want = np.array(expected(fixtures_dir, name), dtype=np.float64)  # [t, o, c, l, h, v]
    assert list(df.columns) == CANDLE_COLUMNS
    assert len(df) == len(want) == count
    np.testing.assert_array_equal(
        df["ts_ms"].to_numpy(), epoch_ms(info.start) + (want[:, 0] * 1000).astype(np.int64)
    )
    for col, j in (("open", 1), ("close", 2), ("low", 3), ("high", 4)):
        np.testing.assert_array_equal(df[col].to_numpy(), want[:, j] / 1e5)
    np.testing.assert_array_equal(df["volume"].to_numpy(), want[:, 5])


def test_candles_match_normalised_sample(fixtures_dir: Path) -> None:
    """sample_m1_data.json is the same file in OHLC order with absolute epoch ms."""
    path = "EURUSD/2019/01/04/BID_candles_min_1.bi5"
    df = decode_candles((fixtures_dir / path).read_bytes(), epoch_ms(parse_path(path).start), 1e5)
    sample = np.array(
        json.loads((fixtures_dir / "expected/dukascopy-node/sample_m1_data.json").read_text())
    )
    np.testing.assert_array_equal(df["ts_ms"].to_numpy(), sample[:, 0].astype(np.int64))
    np.testing.assert_allclose(
        df[["open", "high", "low", "close"]].to_numpy(), sample[:, 1:5], atol=1e-9
    )


def test_zero_byte_hours_decode_to_empty(fixtures_dir: Path) -> None:
    empties = [p for p in (fixtures_dir / "GBPJPY").rglob("*_ticks.bi5") if p.stat().st_size == 0]
    assert len(empties) == 202
    for p in empties[:20]:
        df = decode_ticks(p.read_bytes(), 0, 1e3)
        assert len(df) == 0 and list(df.columns) == TICK_COLUMNS
        assert df["ts_ms"].dtype == np.int64


def test_decompressed_matches_ninety47_raw(fixtures_dir: Path) -> None:
    raw_dir = fixtures_dir / "expected/ninety47-raw/GBPJPY/2012/11/03"
    for bin_file in sorted(raw_dir.glob("*.bin"))[:6]:
        bi5 = fixtures_dir / "GBPJPY/2012/11/03" / bin_file.name.replace(".bin", ".bi5")
        df = decode_ticks(bi5.read_bytes(), 0, 1e3)
        assert len(df) * 20 == bin_file.stat().st_size


def test_gbpjpy_sample_value(fixtures_dir: Path) -> None:
    path = "GBPJPY/2012/11/03/00h_ticks.bi5"
    df = decode_ticks((fixtures_dir / path).read_bytes(), epoch_ms(parse_path(path).start), 1e3)
    first = df.iloc[0]
    assert first["ts_ms"] == 1354492801883  # 2012-12-03T00:00:01.883Z
    assert (first["ask"], first["bid"]) == (132.158, 132.141)


def test_corrupt_lzma_raises() -> None:
    with pytest.raises(CorruptFileError, match="LZMA"):
        decode_ticks(b"definitely not lzma data", 0, 1e5)


def test_truncated_stream_raises(fixtures_dir: Path) -> None:
    raw = (fixtures_dir / EURUSD_HOUR).read_bytes()
    with pytest.raises(CorruptFileError):
        decode_ticks(raw[: len(raw) // 2], 0, 1e5)


def test_partial_record_raises() -> None:
    raw = lzma.compress(b"\x00" * 45, format=lzma.FORMAT_ALONE)
    with pytest.raises(CorruptFileError, match="multiple of the 20-byte"):
        decode_ticks(raw, 0, 1e5)
    with pytest.raises(CorruptFileError, match="24-byte"):
        decode_candles(lzma.compress(b"\x00" * 30, format=lzma.FORMAT_ALONE), 0, 1e5)
