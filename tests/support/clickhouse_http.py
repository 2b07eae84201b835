"""ClickHouse's HTTP interface served by the chDB engine, for tests and benchmarks.

No ClickHouse server runs on this machine (Debian's is from 2018), so this process puts the
real ClickHouse engine (chDB, one persistent session under ``--path``) behind the HTTP protocol
that clickhouse-connect and dbt-clickhouse speak. What it implements, as the server does:

* ``GET /ping`` and ``GET /`` answer ``Ok.``; queries on ``/`` by GET or POST.
* The statement is the ``query`` URL parameter followed by the (decompressed) request body;
  ``INSERT ... FORMAT <fmt>`` takes the rest of the body as data in that format (the client's
  Native blocks), run through ``INSERT ... FROM INFILE``.
* ``Content-Encoding`` of the request (lz4 frame, zstd, gzip, deflate) and, when the client
  sent ``enable_http_compression=1``, of the response (first of its ``Accept-Encoding``).
* ``param_<name>`` bound to ``{name:Type}`` placeholders; ``database``; ``default_format``;
  ``query_id``; any other parameter is a ClickHouse setting, applied for that request only.
* Credentials from ``X-ClickHouse-User``/``X-ClickHouse-Key`` or HTTP basic auth, checked
  against ``--user``/``--password`` (code 516 otherwise).
* Errors: HTTP 500 (404 for unknown tables/databases) with ``Code: N. DB::Exception: ...`` as
  the body and ``X-ClickHouse-Exception-Code``; headers ``X-ClickHouse-Format``,
  ``X-ClickHouse-Timezone``, ``X-ClickHouse-Query-Id`` and ``X-ClickHouse-Summary`` on success.

Not covered: sessions (``session_id`` is accepted but every request shares the one engine
session; no temporary tables across requests), progress headers while a query runs, query
cancellation, multi-statement requests, external data (multipart), TLS, users/grants/quotas,
replication and clusters. Requests run one at a time (one chDB session per process).

Run: ``python -m tests.support.clickhouse_http --path DIR [--port 0]``; it prints
``READY <port>`` once listening. :func:`clickhouse_http_server` does that from a test.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from tests.support.process import stop

# URL parameters that are protocol, not settings (as in ClickHouse's HTTPHandler).
_RESERVED = {"query", "database", "default_format", "query_id", "session_id", "session_timeout",
             "session_check", "user", "password", "quota_key", "compress", "decompress",
             "client_protocol_version", "enable_http_compression", "buffer_size",
             "wait_end_of_query", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
             "stacktrace", "role"}
_INSERT_RE = re.compile(rb"^\s*INSERT\s+INTO\s+(?P<head>.+?)\s+FORMAT\s+(?P<fmt>\w+)[ \t]*(\r?\n|$)",
                        re.IGNORECASE | re.DOTALL)
_CODE_RE = re.compile(r"Code: (\d+)")
_NOT_FOUND = {60, 81, 390}  # UNKNOWN_TABLE, UNKNOWN_DATABASE, ... : ClickHouse answers 404


def _decompress(data: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if not encoding or encoding == "identity":
        return data
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    # A streamed insert is one compressed frame per block, concatenated: decode them all.
    if encoding == "lz4":
        import lz4.frame

        return _frames(data, lambda: lz4.frame.LZ4FrameDecompressor())
    if encoding == "zstd":
        import zstandard

        return _frames(data, lambda: zstandard.ZstdDecompressor().decompressobj())
    raise ValueError(f"unsupported Content-Encoding {encoding!r}")


def _frames(data: bytes, new: object) -> bytes:
    out = bytearray()
    while data:
        dec = new()  # type: ignore[operator]
        out += dec.decompress(data)
        data = dec.unused_data
    return bytes(out)


def _compress(data: bytes, accept: str) -> tuple[bytes, str | None]:
    for enc in (e.split(";")[0].strip().lower() for e in accept.split(",")):
        if enc == "lz4":
            import lz4.frame

            return lz4.frame.compress(data), "lz4"
        if enc == "zstd":
            import zstandard

            return zstandard.ZstdCompressor().compress(data), "zstd"
        if enc == "gzip":
            return gzip.compress(data), "gzip"
        if enc == "deflate":
            return zlib.compress(data), "deflate"
    return data, None


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """One chDB session and the lock that serialises requests on it."""

    def __init__(self, path: Path, user: str, password: str):
        from chdb import session

        self.session = session.Session(str(path))
        self.lock = threading.Lock()
        self.user, self.password = user, password
        self.tmp = Path(tempfile.mkdtemp(prefix="chhttp-"))

    def run(self, sql: str, fmt: str, database: str, settings: dict[str, str],
            params: dict[str, str]) -> tuple[bytes, dict[str, float]]:
        """Run one statement with per-request settings; (body, summary)."""
        with self.lock:
            self.session.query(f"USE `{database}`", "TabSeparated")
            previous = self._apply(settings)
            try:
                res = self.session.query(sql, fmt, params=params or None)
            finally:
                self._apply(previous)
            return res.bytes(), {"read_rows": res.rows_read(), "read_bytes": res.bytes_read(),
                                 "elapsed_ns": int(res.elapsed() * 1e9)}

    def _apply(self, settings: dict[str, str]) -> dict[str, str]:
        if not settings:
            return {}
        names = ", ".join(_quote(n) for n in settings)
        rows = self.session.query(f"SELECT name, value FROM system.settings WHERE name IN ({names})",
                                  "JSONEachRow").bytes().decode().splitlines()
        known = {r["name"]: r["value"] for r in map(json.loads, filter(None, rows))}
        unknown = set(settings) - set(known)
        if unknown:
            raise _Error(115, f"Unknown setting {sorted(unknown)[0]}")
        self.session.query("SET " + ", ".join(f"{n} = {_quote(v)}" for n, v in settings.items()),
                           "TabSeparated")
        return {n: known[n] for n in settings}


class _Error(Exception):
    def __init__(self, code: int, message: str, status: int = 500):
        super().__init__(f"Code: {code}. DB::Exception: {message}")
        self.code, self.status = code, status


def _handler(engine: Engine) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            self._serve(b"")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self._read_chunked()
            else:
                body = self.rfile.read(length) if length else b""
            self._serve(body)

        def _read_chunked(self) -> bytes:
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()

        def _serve(self, body: bytes) -> None:
            url = urlsplit(self.path)
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            query_id = params.get("query_id") or str(uuid.uuid4())
            try:
                if url.path == "/ping" or (url.path == "/" and not body and "query" not in params):
                    return self._send(200, b"Ok.\n", {})
                if url.path not in {"/", "/query"}:
                    raise _Error(0, f"There is no handle {url.path}", 404)
                self._authenticate(params)
                data = _decompress(body, self.headers.get("Content-Encoding", ""))
                out, fmt, summary = self._execute(params, data)
            except _Error as exc:
                return self._fail(exc.status, exc.code, str(exc), query_id)
            except Exception as exc:  # chDB's errors carry ClickHouse's own code and text
                text = str(exc).strip()
                match = _CODE_RE.search(text)
                code = int(match.group(1)) if match else 1002
                status = 404 if code in _NOT_FOUND else (400 if code in {62, 115} else 500)
                return self._fail(status, code, text if match else f"Code: {code}. DB::Exception: {text}",
                                  query_id)
            headers = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Format": fmt,
                       "X-ClickHouse-Timezone": "UTC", "X-ClickHouse-Server-Display-Name": "chdb-http",
                       "X-ClickHouse-Summary": json.dumps({k: str(v) for k, v in summary.items()}),
                       "Content-Type": "application/octet-stream" if fmt in {"Native", "RowBinary",
                                                                              "Arrow", "Parquet"}
                       else "text/plain; charset=UTF-8"}
            if params.get("enable_http_compression") == "1":
                out, enc = _compress(out, self.headers.get("Accept-Encoding", ""))
                if enc:
                    headers["Content-Encoding"] = enc
            self._send(200, out, headers)

        def _authenticate(self, params: dict[str, str]) -> None:
            user = self.headers.get("X-ClickHouse-User") or params.get("user")
            key = self.headers.get("X-ClickHouse-Key") or params.get("password", "")
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, key = base64.b64decode(auth[6:]).decode().partition(":")
            if (user or "default") != engine.user or (key or "") != engine.password:
                raise _Error(516, f"{user or 'default'}: Authentication failed: password is incorrect, "
                             "or there is no user with such name.", 401)

        def _execute(self, params: dict[str, str], data: bytes) -> tuple[bytes, str, dict[str, float]]:
            head = params.get("query", "").encode()
            statement = head + (b"\n" if head and data and not head.endswith(b"\n") else b"") + data
            settings = {k: v for k, v in params.items() if k not in _RESERVED and not k.startswith("param_")}
            binds = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
            database = params.get("database") or "default"
            if not statement.strip():
                raise _Error(62, "Empty query", 400)
            insert = _INSERT_RE.match(statement)
            if insert and insert.group("fmt").upper() != "VALUES" and insert.end() <= len(statement):
                payload = statement[insert.end():]
                tmp = engine.tmp / f"{uuid.uuid4().hex}.in"
                tmp.write_bytes(payload)
                try:
                    sql = (f"INSERT INTO {insert.group('head').decode()} FROM INFILE {_quote(str(tmp))} "
                           f"FORMAT {insert.group('fmt').decode()}")
                    _, summary = engine.run(sql, "TabSeparated", database, settings, binds)
                finally:
                    tmp.unlink(missing_ok=True)
                return b"", "TabSeparated", summary
            fmt = params.get("default_format") or "TabSeparated"
            tail = re.search(r"\bFORMAT\s+(\w+)\s*;?\s*$", statement.decode(errors="replace"), re.IGNORECASE)
            out, summary = engine.run(statement.decode(), fmt, database, settings, binds)
            return out, tail.group(1) if tail else fmt, summary

        def _fail(self, status: int, code: int, text: str, query_id: str) -> None:
            self._send(status, (text + "\n").encode(), {"X-ClickHouse-Exception-Code": str(code),
                                                         "X-ClickHouse-Query-Id": query_id,
                                                         "Content-Type": "text/plain; charset=UTF-8"})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def serve(path: Path, port: int = 0, user: str = "default", password: str = "") -> None:
    """Serve until killed; print ``READY <port>`` once listening."""
    engine = Engine(path, user, password)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(engine))
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever()


@contextmanager
def clickhouse_http_server(path: Path, password: str = "", timeout: float = 60.0) -> Iterator[str]:
    """Run the server in its own process on a free port; yield ``http://default:pw@127.0.0.1:port``."""
    path.mkdir(parents=True, exist_ok=True)
    log = path.parent / f"{path.name}-chhttp.log"
    cmd = [sys.executable, "-m", "tests.support.clickhouse_http", "--path", str(path), "--password", password]
    repo = Path(__file__).resolve().parents[2]
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=err, text=True,
                                env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and proc.stdout is not None:
            line = proc.stdout.readline()
            if line.startswith("READY") or proc.poll() is not None:
                break
        if not line.startswith("READY"):
            raise RuntimeError(f"chDB HTTP server did not start: {log.read_text()[-2000:]}")
        yield f"http://default:{password}@127.0.0.1:{int(line.split()[1])}"
    finally:
        stop(proc)


def main() -> None:
    """Command line: serve a chDB directory over ClickHouse's HTTP protocol."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--path", type=Path, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="default")
    ap.add_argument("--password", default="")
    args = ap.parse_args()
    serve(args.path, args.port, args.user, args.password)


if __name__ == "__main__":
    main()
