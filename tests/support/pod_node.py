"""A node that starts pods: processes forked from one interpreter with the libraries imported.

Starting ``dagster api execute_step`` from scratch re-imports dagster, mlflow, scikit-learn and
pandas, over ten seconds on a busy two-core machine; a node whose image is cached starts a pod
in a fraction of that. This process imports those libraries once (``--preload``, third-party
code only: never the project's modules, which read settings at import), then forks one child per
request. A child changes to its own working directory, replaces its whole environment, points
stdout/stderr at its log and runs a module as ``python -m`` would; it shares nothing on disk with
its siblings beyond what the request names.

Protocol (one Unix-socket connection per pod): the client sends one JSON line
``{"module", "argv", "cwd", "env", "log"}``; the node answers ``{"pid": N}`` and, when the child
exits, ``{"rc": N}``. The node itself is single-threaded, so forking is safe.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.process import stop


def _child(request: dict[str, Any], inherited: list[socket.socket]) -> None:
    """Become the pod: never returns."""
    code = 1
    try:
        for s in inherited:
            s.close()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # TMPDIR is the pod's own, not the node's
        fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        sys.argv = [request["module"], *request["argv"]]
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(path: str, preload: list[str]) -> None:
    """Import ``preload``, listen on the Unix socket ``path`` and fork a pod per connection."""
    for name in preload:
        importlib.import_module(name)
    # A preloaded library may have installed its own SIGTERM handler; a node stops when told to.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    pods: dict[int, socket.socket] = {}
    print("READY", flush=True)
    while True:
        for _key, _ in sel.select(timeout=0.1):
            conn, _ = server.accept()
            with conn.makefile("r") as lines:
                request = json.loads(lines.readline())
            pid = os.fork()
            if pid == 0:
                _child(request, [server, conn, *pods.values()])
            pods[pid] = conn
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        while pods:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = pods.pop(pid)
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"rc": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            conn.close()


class Pod:
    """A pod the node started: its pid, and (after :meth:`wait`) its exit code."""

    def __init__(self, node: str, module: str, argv: list[str], cwd: str, env: dict[str, str], log: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(node)
        self.sock.sendall(json.dumps({"module": module, "argv": argv, "cwd": cwd, "env": env,
                                      "log": log}).encode() + b"\n")
        self.lines = self.sock.makefile("r")
        self.pid = int(json.loads(self.lines.readline())["pid"])
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        """Block until the pod ends (TimeoutError after ``timeout`` s); its exit code."""
        if self.returncode is None:
            self.sock.settimeout(timeout)
            line = self.lines.readline()
            if not line:
                raise RuntimeError("the node went away before the pod ended")
            self.returncode = int(json.loads(line)["rc"])
            self.sock.close()
        return self.returncode


def main() -> None:
    """Command line: ``python -m tests.support.pod_node --socket PATH --preload mod1,mod2``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--socket", required=True)
    ap.add_argument("--preload", default="")
    args = ap.parse_args()
    serve(args.socket, [m for m in args.preload.split(",") if m])


@contextlib.contextmanager
def pod_node(workdir: Path, env: dict[str, str], preload: list[str], timeout: float = 300.0) -> Iterator[str]:
    """Run a node in ``workdir`` (its cwd, log and socket) with ``env``; yield the socket path."""
    sock = str(workdir / "node.sock")
    with open(workdir / "node.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "tests.support.pod_node",
                                 "--socket", sock, "--preload", ",".join(preload)],
                                cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        deadline = time.monotonic() + timeout
        line = proc.stdout.readline() if proc.stdout else ""
        if not line.startswith("READY") or time.monotonic() > deadline:
            raise RuntimeError(f"the pod node did not start: {(workdir / 'node.log').read_text()[-2000:]}")
        yield sock
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
