"""A server on 127.0.0.1 that speaks Dukascopy's JSONP chart API (freeserv `/2.0/index.php`).

It answers ``path=chart/json3`` requests the way dukascopy-python 4.0.1 expects: rows from
``last_update`` on (inclusive), at most ``limit`` of them, wrapped in the ``jsonp`` callback.
Ticks come back as ``[ts_ms, bid, ask, bid_vol, ask_vol]`` with volumes in units (the library
divides by 1e6); bars as ``[ts_ms, open, high, low, close, volume]`` built from the same ticks.
``inclusive=False`` answers cursor-exclusive pages, which end in the empty page ``[]`` that
makes the library raise ``IndexError``. ``faults`` answers a list of HTTP statuses first.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd

_INTERVAL_MS = {
    "1MIN": 60_000,
    "5MIN": 300_000,
    "15MIN": 900_000,
    "1HOUR": 3_600_000,
    "1DAY": 86_400_000,
}


def _rows(ticks: pd.DataFrame, interval: str, side: str) -> np.ndarray:
    ts = ticks["ts_ms"].to_numpy(np.int64)
    if interval == "TICK":
        return np.column_stack(
            [
                ts,
                ticks["bid"],
                ticks["ask"],
                ticks["bid_volume"] * 1e6,
                ticks["ask_volume"] * 1e6,
            ]
        ).astype(object)
    step = _INTERVAL_MS[interval]
    price = ticks["bid" if side == "B" else "ask"]
    vol = ticks["bid_volume" if side == "B" else "ask_volume"]
    grouped = pd.DataFrame({"p": price.to_numpy(), "v": vol.to_numpy()}).groupby(ts // step * step)
    bars = grouped["p"].agg(["first", "max", "min", "last"]).assign(v=grouped["v"].sum())
    return np.column_stack([bars.index.to_numpy(), bars.to_numpy()]).astype(object)


@contextmanager
def serve_chart_api(
    ticks: dict[str, pd.DataFrame],
    inclusive: bool = True,
    faults: list[int] | None = None,
) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Serve ``ticks`` (keyed by instrument, e.g. ``"EUR/USD"``); yield ``(base_url, requests)``."""
    requests: list[dict[str, str]] = []
    pending = list(faults or [])
    cache: dict[tuple[str, str, str], np.ndarray] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            requests.append(q)
            if pending:
                self.send_error(pending.pop(0))
                return
            if url.path != "/2.0/index.php" or q.get("path") != "chart/json3":
                self.send_error(404)
                return
            key = (q["instrument"], q["interval"], q.get("offer_side", "B"))
            if q["instrument"] not in ticks or (key[1] != "TICK" and key[1] not in _INTERVAL_MS):
                self.send_error(400)
                return
            if key not in cache:
                cache[key] = _rows(ticks[key[0]], key[1], key[2])
            rows = cache[key]
            cursor = int(q["last_update"])
            times = rows[:, 0].astype(np.int64) if len(rows) else np.zeros(0, np.int64)
            first = np.searchsorted(times, cursor, side="left" if inclusive else "right")
            page = rows[first : first + int(q.get("limit", 30_000))].tolist()
            body = f"{q['jsonp']}({json.dumps(page)});".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
