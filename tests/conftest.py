"""Shared fixtures. Under CI=true a missing service or fixture folder fails instead of skipping."""

from __future__ import annotations

import functools
import importlib
import os
import pkgutil
import socket
from collections.abc import Iterator
from pathlib import Path

import anyio._core
import pytest

from tests.support.static_server import serve_directory

# anyio imports its submodules on first use, and pytest rewrites them (anyio is a pytest
# plugin) with compile(), which is not thread-safe on CPython 3.11.7 (gh-106905): a first use on
# a server thread while another thread compiles fails with "AST constructor recursion depth
# mismatch". Importing them here, on the main thread before any test, leaves nothing to race.
for _m in pkgutil.iter_modules(anyio._core.__path__):
    importlib.import_module(f"anyio._core.{_m.name}")
importlib.import_module("anyio._backends._asyncio")

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip with ``reason`` locally; fail under CI, where nothing may be skipped."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scope(nodeid: str) -> str:
    """A test's unit of distribution under pytest-xdist: its file, or "pipeline" for every file
    that uses the materialised pipeline (a session fixture, built once on the worker that runs them)."""
    path = nodeid.split("::", 1)[0]
    return "pipeline" if "pipeline_dir" in _source(path) else path


@functools.cache
def _source(path: str) -> str:
    return (REPO / path).read_text() if (REPO / path).is_file() else ""


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``make test`` runs two workers (``-n 2``): most slow tests wait on servers and
    subprocesses rather than on a core. Tests go out a file at a time so module fixtures are built
    once per file (xdist's own ``loadgroup`` marks do not reach pytest 9's node ids)."""
    from xdist.scheduler import LoadScopeScheduling

    class FileScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return FileScheduling(config, log)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """The shared real Dukascopy fixtures (ALPHAFORGE_FIXTURES, default ../shared/data/dukascopy)."""
    path = Path(os.environ.get("ALPHAFORGE_FIXTURES", REPO.parent / "shared" / "data" / "dukascopy"))
    require(path.is_dir(), f"Dukascopy fixtures not found at {path} (set ALPHAFORGE_FIXTURES)")
    return path


@pytest.fixture(scope="session")
def datafeed_url(fixtures_dir: Path) -> Iterator[str]:
    """A local mirror of the datafeed on 127.0.0.1, serving the real fixtures."""
    with serve_directory(fixtures_dir) as (url, _hits):
        yield url


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """DSN of the PostgreSQL on 127.0.0.1:5432 (ALPHAFORGE_TEST_PG)."""
    require(port_open("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")
    return os.environ.get("ALPHAFORGE_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def nats_url() -> str:
    """URL of the NATS server on 127.0.0.1:4222."""
    require(port_open("127.0.0.1", 4222), "NATS is not running on 127.0.0.1:4222")
    return "nats://127.0.0.1:4222"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """URL of the Redis server on 127.0.0.1:6379."""
    require(port_open("127.0.0.1", 6379), "Redis is not running on 127.0.0.1:6379")
    return "redis://127.0.0.1:6379/15"


@pytest.fixture(scope="session")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory, datafeed_url: str) -> Path:
    """A data dir holding the whole asset graph, materialised once on the fixture days.

    The gate here is lenient on purpose: it proves the promotion mechanism moves @champion;
    tests of the gate's thresholds use their own runs.
    """
    from tests.support.pipeline import materialize_graph

    data_dir = tmp_path_factory.mktemp("pipeline")
    result = materialize_graph(data_dir, datafeed_url)
    assert result.success
    return data_dir
