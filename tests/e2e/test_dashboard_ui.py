"""The live dashboard in a real browser: signals, positions, working orders, P&L, risk state and
the kill switch over the service's own API; and the signals-only banner without a champion."""

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from marketdata.bars import ticks_to_bars
from marketdata.store import ParquetStore
from marketdata.synthetic import SyntheticSource
from tests.conftest import REPO
from tests.e2e.conftest import free_port, save_screenshot, start_server, stop_server, wait_http
from tests.realtime.conftest import ADMIN_KEY, DAYS, register_model


def _data_dir(root: Path, alias: str) -> Path:
    store, src = ParquetStore(root / "lake"), SyntheticSource(seed=11)
    for day in DAYS:
        store.write_bars("EURUSD", day, ticks_to_bars(src.fetch_day("EURUSD", day)))
    register_model(root, alias=alias)
    return root


def _serve(data: Path, tmp_path: Path, **extra: str):
    port = free_port()
    env = {**os.environ, "REALTIME_API_KEY": ADMIN_KEY, "REALTIME_DATA_DIR": str(data),
           "REALTIME_MLFLOW_TRACKING_URI": f"sqlite:///{data / 'mlflow.db'}",
           "REALTIME_SYMBOLS": '["EURUSD"]', "REALTIME_LOG_LEVEL": "WARNING", **extra}
    log = tmp_path / "realtime.log"
    proc = start_server([sys.executable, "-m", "uvicorn", "realtime.main:create_app", "--factory",
                         "--host", "127.0.0.1", "--port", str(port)], env, log, REPO)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", proc, 120, log)
    return proc, base


def _call(base: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body else None
    req = urllib.request.Request(f"{base}{path}", method=method, data=data,
                                 headers={"X-API-Key": ADMIN_KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _login(page, base: str) -> None:
    page.goto(f"{base}/dashboard/", wait_until="domcontentloaded")
    page.fill("#key", ADMIN_KEY)
    page.click("#login button[type=submit]")


def test_dashboard_shows_live_state_and_drives_the_kill_switch(browser, tmp_path):
    data = _data_dir(tmp_path / "data", "champion")
    # the replay plays a stored minute every 50 ms, so signals keep arriving over the socket
    proc, base = _serve(data, tmp_path, REALTIME_FEED="replay", REALTIME_FEED_SPEED="1200")
    try:
        opened = _call(base, "POST", "/api/v1/orders",
                       {"symbol": "EURUSD", "side": "buy", "volume": 0.2, "client_order_id": "e2e-open"})
        _call(base, "POST", "/api/v1/orders",
              {"symbol": "EURUSD", "side": "sell", "volume": 0.1, "client_order_id": "e2e-closed"})
        closing = [p for p in _call(base, "GET", "/api/v1/positions") if p["side"] == "sell"]
        _call(base, "POST", f"/api/v1/positions/{closing[0]['id']}/close", {})
        price = opened["fill_price"]
        working = _call(base, "POST", "/api/v1/orders",
                        {"symbol": "EURUSD", "side": "buy", "type": "limit", "price": round(price * 0.9, 5),
                         "volume": 0.1, "client_order_id": "e2e-limit"})
        assert working["status"] == "placed"

        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        _login(page, base)
        page.wait_for_function("document.querySelectorAll('#events li').length >= 3", timeout=60_000)
        page.locator("#signals tbody td", has_text="EURUSD").first.wait_for(timeout=30_000)
        assert page.locator("#positions tbody tr").count() == 1
        assert "buy" in page.inner_text("#positions") and "0.20" in page.inner_text("#positions")
        assert "e2e-limit" in page.inner_text("#orders") and "placed" in page.inner_text("#orders")
        assert page.locator("#closed tbody tr").count() == 1
        account = page.inner_text("#account")
        assert "equity" in account and "today's P&L" in account and "paper" in account
        assert "allowed" in page.inner_text("#risk")
        assert '"type":"signal"' in page.inner_text("#events")
        assert stored_key(page) == ADMIN_KEY
        save_screenshot(page, tmp_path, "dashboard-live.png")

        page.fill("#kill-reason", "e2e test stop")
        page.click("#kill")
        page.wait_for_function("document.getElementById('banner').textContent.includes('e2e test stop')",
                               timeout=20_000)
        assert "halted" in page.inner_text("#risk")
        assert _call(base, "GET", "/api/v1/account")["trading_halted"].startswith("e2e test stop")
        save_screenshot(page, tmp_path, "dashboard-kill-switch.png")
        page.click("#resume")
        page.wait_for_function("document.getElementById('banner').hidden", timeout=20_000)
        assert _call(base, "GET", "/api/v1/account")["trading_halted"] is None
    finally:
        stop_server(proc)


def stored_key(page) -> str:
    """The key the page kept in this tab's sessionStorage."""
    return page.evaluate("sessionStorage.getItem('alphaforge.apiKey')")


def test_signals_only_banner_and_docs_offline(browser, tmp_path):
    data = _data_dir(tmp_path / "data", "challenger")
    proc, base = _serve(data, tmp_path)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        blocked: list[str] = []
        page.route("**/*", lambda route: (blocked.append(route.request.url), route.abort())
                   if not route.request.url.startswith(base) else route.continue_())
        _login(page, base)
        page.wait_for_function("!document.getElementById('banner').hidden", timeout=30_000)
        assert "Signals only" in page.inner_text("#banner")
        page.wait_for_function("document.getElementById('risk').textContent.includes('refused')",
                               timeout=30_000)
        assert "no @champion" in page.inner_text("#model")
        save_screenshot(page, tmp_path, "dashboard-signals-only.png")
        page.goto(f"{base}/docs", wait_until="networkidle")
        page.get_by_text("/api/v1/orders").first.wait_for(timeout=30_000)
        save_screenshot(page, tmp_path, "realtime-docs.png")
        assert blocked == []  # nothing was fetched from anywhere but the service
    finally:
        stop_server(proc)


pytestmark = pytest.mark.timeout(600)
