"""A static HTTP server on 127.0.0.1 that serves a folder in the Dukascopy datafeed layout.

It stands in for the datafeed so that the real client code runs against real .bi5 files.
``faults`` lets a test inject failures: a path suffix mapped to a list of HTTP statuses that
are answered (and consumed) before the file itself is served.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    faults: dict[str, list[int]]
    hits: list[str]

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        for suffix, statuses in self.faults.items():
            if self.path.endswith(suffix) and statuses:
                self.send_error(statuses.pop(0))
                return
        super().do_GET()


@contextmanager
def serve_directory(
    root: Path, faults: dict[str, list[int]] | None = None
) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` on an ephemeral 127.0.0.1 port; yield ``(base_url, hits)``."""
    handler = type("Handler", (_Handler,), {"faults": dict(faults or {}), "hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()
