"""The service as served (realtime.serving's uvicorn options), on a real server: forwarded
addresses believed only from trusted proxies, idle and slow connections closed, huge headers refused."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from realtime.main import create_app
from realtime.serving import uvicorn_options
from tests.conftest import free_port
from tests.realtime.conftest import ADMIN_KEY, settings_for
from tests.support.uvicorn_thread import uvicorn_in_thread


@contextmanager
def _served(ledger_dir, **kw: object) -> Iterator[int]:
    cfg = settings_for(ledger_dir, **kw)
    port = free_port()
    config = uvicorn.Config(create_app(cfg), host="127.0.0.1", port=port, log_level="warning",
                            **uvicorn_options(cfg))
    with uvicorn_in_thread(config):
        yield port


def _wrong_key_codes(port: int, forwarded: bool) -> list[int]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        key = http.post("/admin/users", json={"name": "kim", "role": "viewer"},
                        headers={"X-API-Key": ADMIN_KEY}).json()["api_key"]
        wrong = key[:-2] + "zz"
        codes = []
        for i in range(8):
            headers = {"X-API-Key": wrong}
            if forwarded:
                headers["X-Forwarded-For"] = f"203.0.113.{i + 1}"  # a new address each time
            codes.append(http.get("/api/v1/account", headers=headers).status_code)
        return codes


def test_rotating_x_forwarded_for_does_not_escape_the_bad_key_limit(ledger_dir):
    with _served(ledger_dir, bad_key_burst=3) as port:
        codes = _wrong_key_codes(port, forwarded=True)
    assert codes[:3] == [401] * 3 and codes[3:] == [429] * 5


def test_a_trusted_proxy_forwards_the_client_address(ledger_dir):
    with _served(ledger_dir, bad_key_burst=3, trusted_proxies="127.0.0.1") as port:
        codes = _wrong_key_codes(port, forwarded=True)
    assert codes == [401] * 8  # each forwarded address has its own bucket


def test_idle_connections_are_closed_and_huge_headers_refused(ledger_dir):
    with _served(ledger_dir, keep_alive_s=1.0) as port:
        # A connection that never sends a byte, and one that trickles its headers.
        with socket.create_connection(("127.0.0.1", port)) as idle, \
                socket.create_connection(("127.0.0.1", port)) as slow:
            idle.settimeout(10)
            slow.settimeout(10)
            t0 = time.monotonic()
            slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            closed_at = None
            for _ in range(20):
                try:
                    slow.sendall(b"X-A: b\r\n")
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                time.sleep(0.2)
            assert idle.recv(1024) == b""  # closed by the server
            assert closed_at is not None and closed_at < 3.0
        # A kept-alive connection after its answer.
        with socket.create_connection(("127.0.0.1", port)) as kept:
            kept.settimeout(10)
            kept.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            t0 = time.monotonic()
            data = b""
            while chunk := kept.recv(65536):
                data += chunk
            assert data.startswith(b"HTTP/1.1 200") and 0.5 < time.monotonic() - t0 < 3.0
        # 1 MB of headers: refused, the connection not held.
        with socket.create_connection(("127.0.0.1", port)) as big:
            big.settimeout(10)
            answer = b""
            with contextlib.suppress(OSError):  # closed while sending: refused
                big.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n")
            try:
                answer = big.recv(1024)
            except OSError:
                answer = b""
            assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431"))


def test_an_open_websocket_outlives_the_header_deadline(ledger_dir):
    from websockets.sync.client import connect as ws_connect

    with _served(ledger_dir, keep_alive_s=1.0) as port, \
            ws_connect(f"ws://127.0.0.1:{port}/ws/signals?api_key={ADMIN_KEY}", open_timeout=10) as ws:
        time.sleep(2.5)  # past the deadline a request's headers have
        ws.send("ping")
        assert ws.recv(timeout=10) == '{"type": "pong"}'
