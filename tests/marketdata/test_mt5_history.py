"""MT5 as a history source: server time to UTC across DST, and a day ingested through the bridge."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import numpy as np
import pytest

from assets.market import bars_1m, ticks
from assets.resources import MarketDataResource
from marketdata.errors import MarketDataError
from marketdata.mt5_bridge import MT5Bridge
from marketdata.mt5_history import MT5HistorySource
from marketdata.server_time import server_to_utc_ms, utc_to_server
from orchestration.jobs import ingest_ticks_job
from tests.support.mt5_bridge_server import BridgeServer
from tests.support.mt5sim import MT5TerminalSimulator
from tests.support.pipeline import instance_with_days

UTC = dt.UTC
DAY = dt.date(2024, 10, 27)  # Europe leaves summer time at 01:00 UTC: server 04:00 -> 03:00
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


def ms(t: dt.datetime) -> int:
    return int(t.timestamp() * 1000)


@pytest.mark.parametrize(
    ("spec", "when", "hours"),
    [
        ("Europe/Athens", dt.datetime(2024, 1, 15, 12, tzinfo=UTC), 2),
        ("Europe/Athens", dt.datetime(2024, 7, 15, 12, tzinfo=UTC), 3),
        ("Europe/Athens", dt.datetime(2024, 3, 20, 12, tzinfo=UTC), 2),  # US on summer time already
        ("ny-close", dt.datetime(2024, 3, 20, 12, tzinfo=UTC), 3),  # ...and New York close with it
        ("ny-close", dt.datetime(2024, 11, 1, 12, tzinfo=UTC), 3),  # Europe back on winter time
        ("ny-close", dt.datetime(2024, 11, 5, 12, tzinfo=UTC), 2),
        ("UTC", dt.datetime(2024, 7, 15, 12, tzinfo=UTC), 0),
    ],
)
def test_server_time_follows_each_zones_dst_rules(spec, when, hours):
    server = utc_to_server(when, spec)
    assert server == when + dt.timedelta(hours=hours)
    assert server_to_utc_ms(np.array([ms(server)]), spec).tolist() == [ms(when)]


def test_the_repeated_hour_maps_back_in_recording_order():
    real = [dt.datetime(2024, 10, 27, 0, 0, tzinfo=UTC) + dt.timedelta(minutes=10 * i) for i in range(18)]
    server = np.array([ms(utc_to_server(t, "Europe/Athens")) for t in real])
    assert (np.diff(server) < 0).sum() == 1  # the server clock stepped back once
    assert server_to_utc_ms(server, "Europe/Athens").tolist() == [ms(t) for t in real]
    with pytest.raises(MarketDataError, match="unknown server time zone"):
        server_to_utc_ms(server, "Mars/Olympus")


@pytest.fixture
def terminal():
    """A server on EET/EEST with a tick every 5 minutes from the day before to the day after."""
    sim = MT5TerminalSimulator(server_tz="Europe/Athens")
    sim.add_symbol("EURUSD")
    start = dt.datetime(2024, 10, 26, 21, tzinfo=UTC)
    for i in range(12 * 30):
        t = start + dt.timedelta(minutes=5 * i)
        sim.push_tick("EURUSD", 1.08 + 1e-5 * (i % 50), 1.08012 + 1e-5 * (i % 50), ms(t))
    srv = BridgeServer(sim).start()
    yield srv
    srv.stop()


def test_a_day_of_ticks_and_bars_through_the_bridge_is_in_utc(terminal):
    source = MT5HistorySource(MT5Bridge(terminal.address), server_tz="Europe/Athens")
    df = source.fetch_day("EURUSD", DAY)
    start = dt.datetime(2024, 10, 27, tzinfo=UTC)
    assert df["ts_ms"].tolist() == [ms(start) + 300_000 * k for k in range(288)]  # 24 h, none twice
    assert (df["ask"] - df["bid"]).round(6).eq(0.00012).all()
    bars = source.fetch_bars("EURUSD", DAY)
    # Bars are keyed by server time: the hour the clock repeats is one hour of bars (12 bars of
    # two ticks each here), so the day has 276 bars that hold all 288 ticks.
    assert len(bars) == 276 and bars["tick_count"].sum() == 288
    assert bars["ts"].iloc[0] == start and bars["ts"].is_monotonic_increasing
    assert bars["spread_mean"].round(6).eq(0.00012).all()
    with pytest.raises(MarketDataError, match="does not know symbol"):
        source.fetch_day("XAUUSD", DAY)


def test_the_ingest_job_takes_the_source_from_its_resource_config(terminal, tmp_path):
    market = MarketDataResource(source="mt5", mt5_bridge=terminal.address, mt5_server_tz="Europe/Athens",
                                data_dir=str(tmp_path))  # fmt: skip
    job = dg.Definitions(assets=[ticks, bars_1m], jobs=[ingest_ticks_job],
                         resources={"market": market}).resolve_job_def("ingest_ticks")  # fmt: skip
    key = dg.MultiPartitionKey({"date": DAY.isoformat(), "symbol": "EURUSD"})
    result = job.execute_in_process(partition_key=key, instance=instance_with_days(DAY))
    assert result.success
    stored = market.store().read_ticks("EURUSD", DAY, DAY)
    assert len(stored) == 288 and int(stored["ts_ms"].iloc[0]) == ms(dt.datetime(2024, 10, 27, tzinfo=UTC))


def test_the_deployment_selects_the_mt5_source_by_environment(monkeypatch, tmp_path):
    from orchestration.resources import build_resources

    monkeypatch.setenv("ALPHAFORGE_SOURCE", "mt5")
    monkeypatch.setenv("ALPHAFORGE_MT5_BRIDGE", "mt5:8001")
    monkeypatch.setenv("ALPHAFORGE_MT5_SERVER_TZ", "ny-close")
    monkeypatch.setenv("ALPHAFORGE_DATA_DIR", str(tmp_path))
    market = build_resources("local")["market"]
    source = market.tick_source()
    assert isinstance(source, MT5HistorySource) and source.server_tz == "ny-close"
    assert (source.mt5.host, source.mt5.port) == ("mt5", 8001)  # nothing connects until a fetch
