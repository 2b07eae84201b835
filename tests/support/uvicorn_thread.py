"""A uvicorn server on a thread of the test process, for tests that need a real socket while
still reaching into the app (its services, its log records)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


@contextmanager
def uvicorn_in_thread(config: uvicorn.Config, start_timeout: float = 30.0) -> Iterator[uvicorn.Server]:
    """Serve ``config`` on a daemon thread until the block ends; yields the started server."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, f"uvicorn did not start within {start_timeout} s"
        yield server
    finally:
        server.should_exit = True
        thread.join(15)
