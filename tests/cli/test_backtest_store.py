"""``alphaforge backtest sma-cross`` on a symbol's stored bars over a date range, with windows sized
to the data or set by options, and ``--report FILE.html`` writing the tearsheet."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from typer.testing import CliRunner

from cli.app import app
from cli.backtest_data import sma_windows
from marketdata.bars import ticks_to_bars
from marketdata.stores import store_from_env
from marketdata.synthetic import SyntheticSource

DAYS = [dt.date(2019, 2, 4), dt.date(2019, 2, 5)]


@pytest.fixture
def lake(tmp_path, monkeypatch):
    """Two days of EURUSD 1-minute bars in the data dir's lake, written through the store API."""
    monkeypatch.setenv("ALPHAFORGE_DATA_DIR", str(tmp_path))
    for name in ("ALPHAFORGE_STORE", "ALPHAFORGE_LAKE_URL", "ALPHAFORGE_CLICKHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    store = store_from_env(tmp_path / "lake")
    for day in DAYS:
        store.write_bars("EURUSD", day, ticks_to_bars(SyntheticSource().fetch_day("EURUSD", day)))
    return store


def run(*args):
    """``alphaforge backtest sma-cross ARGS`` in process: (exit status, stdout, stderr)."""
    result = CliRunner().invoke(app, ["backtest", "sma-cross", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_windows_are_the_options_or_sized_to_the_bars():
    assert sma_windows(2_880, None, None) == (10, 30)
    assert sma_windows(120, None, None) == (4, 12)
    assert sma_windows(20, None, None) == (2, 3)
    assert sma_windows(2_880, 5, None) == (5, 30) and sma_windows(50, 3, 7) == (3, 7)


def test_a_date_range_of_stored_bars_with_its_tearsheet(lake, tmp_path):
    n_first_day = len(lake.read_bars("EURUSD", DAYS[0], DAYS[0]))
    code, out, err = run("--symbol", "EURUSD", "--start", "2019-02-04", "--end", "2019-02-04", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["trades"] and all(t["entry_time"].startswith("2019-02-04") for t in doc["trades"])

    report = tmp_path / "eurusd.html"
    code, out, err = run("--symbol", "EURUSD", "--start", "2019-02-04", "--end", "2019-02-05",
                         "--fast", "15", "--commission", "0.0001", "--report", report)
    assert code == 0, err
    n_bars = len(lake.read_bars("EURUSD", *DAYS))
    assert n_bars > n_first_day
    assert f"(sma 15/30 on {n_bars} bars)" in out and f"tearsheet: {report}" in out
    page = report.read_text()
    assert "<title>SMA cross 15/30 on EURUSD</title>" in page
    assert re.search(r"id='fig-equity_drawdown' alt='equity_drawdown' src='data:image/png;base64,", page)
    costs = page[page.index("<h2>Costs (account currency)</h2>"):page.index("<h2>Monthly returns</h2>")]
    assert "commission" in costs and "spread" in costs and "total" in costs
    data = json.loads(re.search(r"id='tearsheet-data'>(.*?)</script>", page, re.S).group(1))
    trades = int(out.split("trades=")[1].split()[0])
    assert data["costs"]["total"]["n_trades"] == trades and data["costs"]["total"]["commission"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["--symbol", "EURUSX"], "EURUSX"),
    (["--start", "2019-03-01", "--end", "2019-03-05"], "no 1-minute bars of EURUSD stored from 2019-03-01"),
    (["--start", "2019-02-05", "--end", "2019-02-04"], "--end 2019-02-04 is before --start 2019-02-05"),
    (["--start", "2019-02-31"], "--start '2019-02-31' is not a date"),
    (["--bars", "x.csv", "--start", "2019-02-04"], "use them without --bars"),
    (["--report", "report.pdf"], "must name an .html file"),
])
def test_bad_input_is_one_line(lake, tmp_path, args, message):
    code, out, err = run(*args)
    assert code != 0 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alphaforge backtest sma-cross: error: "), err
    assert message in lines[0]
    assert not list(tmp_path.glob("*.html"))


@pytest.mark.parametrize(("args", "message"), [
    (["--symbol", "EURUSX"], "EURUSX"),
    (["--start", "2019-03-01", "--end", "2019-03-05"], "no 1-minute bars of EURUSD stored from 2019-03-01"),
])
def test_optimise_takes_the_same_symbol_and_range(lake, args, message):
    result = CliRunner().invoke(app, ["optimise", *args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and len(lines) == 1, result.stderr
    assert lines[0].startswith("alphaforge optimise: error: ") and message in lines[0]
