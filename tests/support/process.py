"""Stopping the helper servers the tests start as subprocesses."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM ``proc``; SIGKILL it when it has not exited after ``grace_s`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace_s)
