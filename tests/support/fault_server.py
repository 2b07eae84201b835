"""A 127.0.0.1 HTTP mirror of a datafeed folder that misbehaves on purpose, for fault tests.

``serve_with_faults(root, faults)`` maps a path suffix to a list of faults, consumed one per
request to a matching path before the real file is served:

* an ``int``: that HTTP status with an empty body;
* ``"timeout"``: nothing at all for ``stall_s`` seconds (longer than the client's timeout),
  then the connection is closed;
* ``"short"``: a 200 whose ``Content-Length`` promises more than the half of the file that is
  sent before the connection closes (a dropped connection mid-body);
* ``"lzma"``: a complete, well-formed 200 response whose body is the file cut in half (a
  truncated LZMA stream that only the decoder can detect).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

Fault = int | str
FAULT_KINDS = ("timeout", "short", "lzma")


class _Handler(SimpleHTTPRequestHandler):
    faults: dict[str, list[Fault]]
    hits: list[str]
    stall_s: float
    lock: threading.Lock

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _next_fault(self) -> Fault | None:
        with self.lock:
            self.hits.append(self.path)
            for suffix, queue in self.faults.items():
                if self.path.endswith(suffix) and queue:
                    return queue.pop(0)
        return None

    def do_GET(self) -> None:
        fault = self._next_fault()
        if fault is None:
            super().do_GET()
            return
        self.close_connection = True
        if isinstance(fault, int):
            self.send_error(fault)
            return
        if fault == "timeout":
            time.sleep(self.stall_s)
            return
        body = Path(self.translate_path(self.path)).read_bytes()
        half = body[: len(body) // 2]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body) if fault == "short" else len(half)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may already have given up
            self.wfile.write(half)


@contextmanager
def serve_with_faults(
    root: Path, faults: dict[str, list[Fault]] | None = None, stall_s: float = 1.0
) -> Iterator[tuple[str, list[str]]]:
    """Serve ``root`` on an ephemeral 127.0.0.1 port with ``faults``; yield ``(base_url, hits)``."""
    for queue in (faults or {}).values():
        for fault in queue:
            if not isinstance(fault, int) and fault not in FAULT_KINDS:
                raise ValueError(f"unknown fault {fault!r}; expected a status or {FAULT_KINDS}")
    attrs = {
        "faults": {k: list(v) for k, v in (faults or {}).items()},
        "hits": [],
        "stall_s": stall_s,
        "lock": threading.Lock(),
    }
    handler = type("Handler", (_Handler,), attrs)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.hits
    finally:
        server.shutdown()
        server.server_close()
