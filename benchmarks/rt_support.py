"""Shared pieces of the realtime benchmarks: a prepared data dir, a uvicorn server in its own
process, and wrk as the load generator in another process (never in the server's).

Only wrk is used: a Python load generator saturates a core before the server does, so its figures
measure itself. Without wrk (and without a way to install it) a benchmark prints a refusal line
instead of a figure."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ADMIN_KEY = "bench-admin-key-0123456789abcdef"
PY = sys.executable


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    """True when something listens on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def prepare(data_dir: Path | None = None, family: str = "logreg") -> Path:
    """Two synthetic days of EURUSD bars and a registered @champion ``family`` model (the test
    fixture's: a logistic regression unless asked)."""
    sys.path.insert(0, str(REPO))
    from marketdata.bars import ticks_to_bars
    from marketdata.store import ParquetStore
    from marketdata.synthetic import SyntheticSource
    from tests.realtime.conftest import DAYS, register_model

    d = data_dir or Path(tempfile.mkdtemp(prefix="rt-bench-"))
    store, src = ParquetStore(d / "lake"), SyntheticSource(seed=11)
    for day in DAYS:
        store.write_bars("EURUSD", day, ticks_to_bars(src.fetch_day("EURUSD", day)))
    register_model(d, family=family)
    return d


def app_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for ``realtime.main:create_app`` on ``data_dir``."""
    env = dict(
        os.environ,
        PYTHONPATH=f"{REPO}:{REPO / 'benchmarks'}",  # the ping baseline app lives here
        REALTIME_API_KEY=ADMIN_KEY,
        REALTIME_DATA_DIR=str(data_dir),
        REALTIME_MLFLOW_TRACKING_URI=f"sqlite:///{data_dir / 'mlflow.db'}",
        REALTIME_RATE_LIMIT_PER_S="1000000",
        REALTIME_RATE_LIMIT_BURST="1000000",
        REALTIME_MAX_POSITION_LOTS="1000000",
        REALTIME_MAX_TOTAL_EXPOSURE_LOTS="1000000",
        REALTIME_MAX_USER_POSITION_LOTS="1000000",  # one key places every order of a run
        REALTIME_MAX_USER_EXPOSURE_LOTS="1000000",
        REALTIME_MAX_DAILY_LOSS="1e12",
        REALTIME_MAX_DRAWDOWN="1.0",
        REALTIME_PAPER_BALANCE="1e9",  # margin for the thousands of positions a run opens
        REALTIME_LOG_LEVEL="WARNING",  # as uvicorn runs here (--log-level warning)
    )
    env.update(extra)
    return env


def nats_env(data_dir: Path, prefix: str) -> dict[str, str]:
    """``app_env`` for a service fed by NATS on 127.0.0.1:4222 under subject ``prefix``."""
    return app_env(
        data_dir,
        REALTIME_FEED="nats",
        REALTIME_NATS_URL="nats://127.0.0.1:4222",
        REALTIME_NATS_SUBJECT_PREFIX=prefix,
    )


def start_server(app: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    """uvicorn, one worker, access log off (as the ping baseline is served)."""
    cmd = [
        PY,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    # The server's own output goes to stderr: stdout carries only the benchmark's JSON lines.
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=sys.stderr)


def wait_ready(url: str, timeout: float = 60.0) -> float:
    """Seconds until ``url`` answers 200."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"{url} not ready after {timeout}s")


@contextmanager
def serving(app: str, env: dict[str, str], ready: str, timeout: float = 60.0) -> Iterator[tuple[str, float]]:
    """Run ``app`` (see :func:`start_server`) until the block ends; yield its base URL and the
    seconds it took until ``ready`` answered 200."""
    port = free_port()
    proc = start_server(app, port, env)
    try:
        base = f"http://127.0.0.1:{port}"
        yield base, wait_ready(base + ready, timeout)
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server we started."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _wrk(url: str, seconds: float, concurrency: int, headers: dict, order: bool) -> dict:
    args = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--latency"]
    for k, v in headers.items():
        args += ["-H", f"{k}: {v}"]
    if order:
        args += ["-s", str(REPO / "benchmarks" / "rt_order.lua")]
    tail = ["--", uuid.uuid4().hex] if order else []
    out = subprocess.run([*args, url, *tail], capture_output=True, text=True, check=True).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def ms(text: str) -> float:
        num = text.rstrip("smu")
        return float(num) * unit[text[len(num) :]]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    reqs = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {
        "requests": reqs,
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "tool": "wrk",
    }


class LoadgenMissing(RuntimeError):
    """wrk is not installed and could not be installed."""


def ensure_wrk() -> str:
    """Path of wrk, installing the Debian package when it is missing and we may (root, apt-get);
    raises :class:`LoadgenMissing` otherwise."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print("installing wrk (apt-get install -y wrk)", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], stdout=sys.stderr, stderr=sys.stderr,
                       check=False)
        found = shutil.which("wrk")
        if found:
            return found
    raise LoadgenMissing("wrk is not installed (Debian: apt-get install -y wrk); no figure reported")


def refuse(name: str, unit: str, reason: str) -> None:
    """The line a benchmark prints instead of a figure it cannot measure honestly."""
    print(json.dumps({"name": name, "value": None, "unit": unit, "baseline": None, "ratio": None,
                      "refused": reason}))


def load(
    url: str,
    seconds: float,
    concurrency: int,
    method: str = "GET",
    headers: dict | None = None,
    order: bool = False,
) -> dict:
    """Load ``url`` with wrk from a separate process (see :func:`ensure_wrk`). ``method`` is GET
    unless ``order`` (rt_order.lua POSTs a fresh order per request)."""
    ensure_wrk()
    if order != (method == "POST"):
        raise ValueError("wrk sends GET, or POSTs an order through rt_order.lua")
    return _wrk(url, seconds, concurrency, headers or {}, order)


def emit(name: str, value: float, unit: str, baseline: float | None, higher_is_better: bool = True,
         **extra: object) -> None:
    """One JSON line in the benchmark format; ``ratio`` > 1 always means better than the baseline
    (value / baseline for rates, baseline / value for times)."""
    if not baseline or not value:
        ratio = None
    else:
        ratio = round(value / baseline if higher_is_better else baseline / value, 3)
    print(
        json.dumps(
            {
                "name": name,
                "value": round(value, 2),
                "unit": unit,
                "baseline": None if baseline is None else round(baseline, 2),
                "ratio": ratio,
                **extra,
            }
        )
    )
