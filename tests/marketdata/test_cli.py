"""``alphaforge inspect`` through the real CLI entry point."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest

from marketdata.schema import TICK_COLUMNS
from ml.cli import main


def _csv(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out))


def test_inspect_tick_file(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fixtures_dir / "EURUSD/2019/01/04/00h_ticks.bi5"
    assert main(["inspect", str(path), "--symbol", "EURUSD"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == ",".join(TICK_COLUMNS)
    df = _csv(out)
    assert len(df) == 3733
    first = df.iloc[0]
    assert first["ts_ms"] == 1549238400994  # zero-based month: 01 is February
    assert (first["bid"], first["ask"], first["bid_volume"]) == (
        1.14543,
        1.14545,
        2.059999942779541,
    )
    assert "EURUSD ticks from 2019-02-04T00:00:00+00:00: 3733 rows" in err


def test_inspect_candle_file(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = fixtures_dir / "EURUSD/2019/01/BID_candles_hour_1.bi5"
    assert main(["inspect", str(path)]) == 0  # the symbol comes from the path
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "ts_ms,open,high,low,close,volume"
    df = _csv(out)
    assert len(df) == 672 and df["ts_ms"].iloc[0] == 1548979200000  # 2019-02-01
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    assert "BID h1 candles" in err


def test_outside_the_layout_needs_symbol_and_uses_start(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "hour.bi5"
    shutil.copy(fixtures_dir / "GBPJPY/2012/11/03/00h_ticks.bi5", copy)
    assert main(["inspect", str(copy)]) == 2
    assert "--symbol" in capsys.readouterr().err
    assert main(["inspect", str(copy), "--symbol", "gbpjpy", "--start", "2012-12-03"]) == 0
    df = _csv(capsys.readouterr().out)
    assert df["ts_ms"].iloc[0] == 1354492801883 and df["ask"].iloc[0] == 132.158


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbol", "EURUSX"], "unknown symbol 'EURUSX'; did you mean EURUSD"),
        (["--symbol", "EURUSD", "--kind", "candles"], "is a ticks file by its path"),
    ],
)
def test_bad_arguments(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    path = fixtures_dir / "EURUSD/2019/01/04/00h_ticks.bi5"
    assert main(["inspect", str(path), *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and "Traceback" not in err


def test_missing_and_corrupt_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "EURUSD/2019/01/04/00h_ticks.bi5"
    assert main(["inspect", str(missing)]) == 2
    assert "no such file" in capsys.readouterr().err
    missing.parent.mkdir(parents=True)
    missing.write_bytes(b"\x5d\x00\x00 not lzma at all")
    assert main(["inspect", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "corrupt LZMA" in err and "Traceback" not in err


def test_empty_hour_prints_only_the_header(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", str(fixtures_dir / "GBPJPY/2012/11/01/12h_ticks.bi5")]) == 0
    assert capsys.readouterr().out.strip() == ",".join(TICK_COLUMNS)
