"""Browser fixtures: Debian's Chromium driven by Playwright, and servers on free 127.0.0.1 ports."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require

CHROMIUM = os.environ.get("ALPHAFORGE_CHROMIUM", "/usr/bin/chromium")
SCREENS = Path(os.environ.get("ALPHAFORGE_SCREENS", "/tmp/af-screens"))
# Headless as root on a closed network: no sandbox, no GPU, and no background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1)
    pytest.fail(f"{url} did not answer in {timeout}s:\n{log.read_text()[-3000:]}")


def start_server(cmd: list[str], env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, so the whole tree can be stopped."""
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM the server's process group, then SIGKILL what is left."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def save_screenshot(page, tmp_path: Path, name: str) -> Path:
    """Screenshot to the test's tmp dir, with a copy under ALPHAFORGE_SCREENS for people."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    try:
        SCREENS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SCREENS / name)
    except OSError:
        pass
    return path


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """Headless Debian Chromium under Playwright (no browser download).

    Package scope: Playwright's sync API keeps an event loop running in the main thread while it
    is open, which would break later tests that call asyncio.run().
    """
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed (pip install playwright)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
