"""``alphaforge inspect`` through the real CLI entry point."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from cli.app import app
from marketdata.schema import TICK_COLUMNS


def _csv(out: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(out))


def inspect(*args: object) -> Result:
    """``alphaforge inspect ARGS`` in process; stdout and stderr are kept apart."""
    return CliRunner().invoke(app, ["inspect", *map(str, args)])


def test_inspect_tick_file(fixtures_dir: Path) -> None:
    path = fixtures_dir / "EURUSD/2019/01/04/00h_ticks.bi5"
    result = inspect(path, "--symbol", "EURUSD")
    assert result.exit_code == 0, result.stderr
    out, err = result.stdout, result.stderr
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


def test_inspect_candle_file(fixtures_dir: Path) -> None:
    path = fixtures_dir / "EURUSD/2019/01/BID_candles_hour_1.bi5"
    result = inspect(path)  # the symbol comes from the path
    assert result.exit_code == 0, result.stderr
    out, err = result.stdout, result.stderr
    assert out.splitlines()[0] == "ts_ms,open,high,low,close,volume"
    df = _csv(out)
    assert len(df) == 672 and df["ts_ms"].iloc[0] == 1548979200000  # 2019-02-01
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all()
    assert "BID h1 candles" in err


def test_outside_the_layout_needs_symbol_and_uses_start(fixtures_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "hour.bi5"
    shutil.copy(fixtures_dir / "GBPJPY/2012/11/03/00h_ticks.bi5", copy)
    result = inspect(copy)
    assert result.exit_code == 2 and "--symbol" in result.stderr
    result = inspect(copy, "--symbol", "gbpjpy", "--start", "2012-12-03")
    assert result.exit_code == 0, result.stderr
    df = _csv(result.stdout)
    assert df["ts_ms"].iloc[0] == 1354492801883 and df["ask"].iloc[0] == 132.158


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbol", "EURUSX"], "unknown symbol 'EURUSX'; did you mean EURUSD"),
        (["--symbol", "EURUSD", "--kind", "candles"], "is a ticks file by its path"),
    ],
)
def test_bad_arguments(fixtures_dir: Path, args: list[str], message: str) -> None:
    result = inspect(fixtures_dir / "EURUSD/2019/01/04/00h_ticks.bi5", *args)
    assert result.exit_code == 2
    assert result.stdout == "" and message in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("alphaforge inspect: error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_and_corrupt_files(tmp_path: Path) -> None:
    missing = tmp_path / "EURUSD/2019/01/04/00h_ticks.bi5"
    result = inspect(missing)
    assert result.exit_code == 2 and "no such file" in result.stderr
    missing.parent.mkdir(parents=True)
    missing.write_bytes(b"\x5d\x00\x00 not lzma at all")
    result = inspect(missing)
    assert result.exit_code == 2
    assert result.stdout == "" and "corrupt LZMA" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_empty_hour_prints_only_the_header(fixtures_dir: Path) -> None:
    result = inspect(fixtures_dir / "GBPJPY/2012/11/01/12h_ticks.bi5")
    assert result.exit_code == 0
    assert result.stdout.strip() == ",".join(TICK_COLUMNS)


def test_a_kind_that_does_not_exist_is_a_usage_error(fixtures_dir: Path) -> None:
    result = inspect(fixtures_dir / "EURUSD/2019/01/04/00h_ticks.bi5", "--kind", "bars")
    assert result.exit_code == 2 and "--kind" in result.stderr and result.stdout == ""
