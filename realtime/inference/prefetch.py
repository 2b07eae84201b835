"""Fetching the served model in a second process while the service imports.

Importing the service takes ~3 s on a 2-core machine, and resolving ``@champion`` through an
MLflow SQL store another ~1.9 s (MLflow's store modules, its ORM set-up, the download), one
after the other on one core. ``python -m realtime.serving`` therefore starts this module's
``main`` in a second process before uvicorn imports the app: it resolves the alias, downloads
the artifact into a private temporary directory and writes what it found there as JSON. The
lifespan (:func:`collect`) then loads that copy (~20 ms) when it was fetched for the same
tracking URI, model and alias. Anything else (no launcher, a failed fetch, other settings)
loads through the registry as before, so a missing model reads the same either way. A version
that moves between the fetch and the start is picked up by the reloader like any later move.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "ALPHAFORGE_MODEL_PREFETCH"  # the result file, for the app in this process or its workers
MODULE = "realtime.inference.prefetch"


@contextlib.contextmanager
def prefetching(tracking_uri: str, name: str, alias: str) -> Iterator[Path]:
    """Start the fetch of ``models:/name@alias`` in a second process for the app started inside
    this block; the copy and the process are gone when it ends. Yields the result file's path."""
    work = Path(tempfile.mkdtemp(prefix="alphaforge-model-"))  # 0700: this user's only
    result = work / "result.json"
    env = dict(os.environ, MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false")
    proc = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--tracking-uri", tracking_uri, "--name", name,
         "--alias", alias, "--out", str(work)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env)
    threading.Thread(target=_watch, args=(proc, result), name="model-prefetch", daemon=True).start()
    os.environ[ENV] = str(result)
    try:
        yield result
    finally:
        os.environ.pop(ENV, None)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def _watch(proc: subprocess.Popen, result: Path) -> None:
    # A fetch that dies without a word (killed, out of memory) still ends the app's wait.
    code = proc.wait()
    if not result.exists():
        _write(result, {"error": f"the fetch process exited with status {code}"})


def _write(result: Path, payload: dict[str, str]) -> None:
    tmp = result.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, result)  # whole or absent: the app never reads half a file


def collect(tracking_uri: str, name: str, alias: str, timeout_s: float = 120.0) -> tuple[str, Path] | None:
    """(version, local artifact) fetched for exactly this ``tracking_uri``, ``name`` and ``alias``
    by the launcher, waiting for the fetch to end; None when there is none to use."""
    path = os.environ.get(ENV)
    if not path:
        return None
    result, deadline = Path(path), time.monotonic() + timeout_s
    while not result.exists():
        if time.monotonic() > deadline:
            log.warning("the model fetch gave no answer in %.0f s: loading through the registry", timeout_s)
            return None
        time.sleep(0.005)
    payload = json.loads(result.read_text())
    if "error" in payload:
        log.info("the model fetch failed (%s): loading through the registry", payload["error"])
        return None
    if (payload["tracking_uri"], payload["name"], payload["alias"]) != (tracking_uri, name, alias):
        return None
    return payload["version"], Path(payload["path"])


def main(argv: list[str] | None = None) -> None:
    """``python -m realtime.inference.prefetch --tracking-uri U --name N --alias A --out DIR``."""
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    for flag in ("--tracking-uri", "--name", "--alias", "--out"):
        p.add_argument(flag, required=True)
    a = p.parse_args(argv)
    out = Path(a.out)
    asked = {"tracking_uri": a.tracking_uri, "name": a.name, "alias": a.alias}
    try:
        import mlflow

        from ml.registry import download_registered

        # ``models:/`` URIs resolve through the process's registry URI, whatever the client was
        # given: without these the fetch reads MLflow's default store (./mlflow.db).
        mlflow.set_tracking_uri(a.tracking_uri)
        mlflow.set_registry_uri(a.tracking_uri)
        version, local = download_registered(a.tracking_uri, a.name, alias=a.alias, dst=out / "artifact")
        payload = asked | {"version": version, "path": str(local)}
    except Exception as exc:  # the app loads through the registry and reports it itself
        payload = asked | {"error": f"{type(exc).__name__}: {exc}"}
    _write(out / "result.json", payload)


if __name__ == "__main__":
    main()
