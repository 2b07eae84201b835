"""MT5Bridge: the MetaTrader5 module of a Windows or Wine Python, reached over RPyC.

The far side is a classic RPyC server (``SlaveService``) in a Python that can
``import MetaTrader5``: what ``python -m mt5linux`` and the MetaTrader5 Docker images run
(port 18812 by default). This object offers the module's functions and constants, so
the realtime MT5 broker and the MT5 history source drive it as they drive the module itself.

A dropped link makes the bridge act as a terminal that lost its connection: functions answer
None and ``last_error()`` says why (``-10004``, as the module does without its terminal), so
the broker refuses orders before they leave. The exception is a call in flight when the link
drops (``order_send`` above all): it raises :class:`BridgeDownError`, since the far side may have
executed it; the broker records that order's outcome as unknown. While down, each call first
tries to reconnect, at most once per backoff delay (doubling up to ``max_backoff_s``); a
reconnection replays the last ``initialize`` so that a restarted bridge serves the same login.
Calls are serialised: the MetaTrader5 module is not thread-safe.
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

import rpyc

from marketdata.mt5_wire import REMOTE_HELPERS, plain_args, rebuild

log = logging.getLogger(__name__)
NO_IPC = -10004  # the MetaTrader5 module's "No IPC connection"
SENDS = frozenset({"order_send"})  # calls that change the account: never repeated blindly


class BridgeDownError(ConnectionError):
    """The bridge link dropped while a call was in flight: its outcome is unknown."""


def parse_address(address: str) -> tuple[str, int]:
    """``host:port`` as (host, port); a bare host gets RPyC's classic port 18812."""
    host, _, port = address.strip().rpartition(":")
    if not host:
        return port or "127.0.0.1", 18812
    if not port.isdigit():
        raise ValueError(f"MT5 bridge address {address!r} is not host:port")
    return host.strip("[]"), int(port)


class MT5Bridge:
    """A module-like proxy of a remote ``MetaTrader5``; see the module docstring."""

    def __init__(
        self,
        address: str,
        timeout_s: float = 30.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.host, self.port = parse_address(address)
        self.timeout_s, self.backoff_s, self.max_backoff_s = timeout_s, backoff_s, max_backoff_s
        self._clock = clock
        self._lock = threading.RLock()
        self._conn: Any = None
        self._consts: dict[str, Any] = {}
        self._login: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._error: tuple[int, str] = (1, "Success")
        self._delay, self._next_try = backoff_s, 0.0
        self.reconnects, self.drops = 0, 0
        self.down_since: float | None = None

    # link ------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while the link is up (as last seen)."""
        return self._conn is not None

    def _open(self) -> None:
        conn = rpyc.classic.connect(self.host, self.port, keepalive=True)
        conn._config["sync_request_timeout"] = self.timeout_s
        try:
            conn.execute(REMOTE_HELPERS)
        except Exception:
            conn.close()
            raise
        self._conn = conn

    def _drop(self, why: str) -> None:
        if self._conn is not None:
            self.drops += 1
            log.warning("MT5 bridge %s:%s dropped: %s", self.host, self.port, why)
            try:
                self._conn.close()
            except Exception:  # closing a dead link may fail in many ways; it is gone either way
                log.debug("closing the dropped MT5 bridge link failed", exc_info=True)
        self._conn = None
        if self.down_since is None:
            self.down_since = self._clock()
        self._next_try = self._clock() + self._delay
        self._delay = min(self._delay * 2, self.max_backoff_s)
        self._error = (NO_IPC, f"No IPC connection: MT5 bridge {self.host}:{self.port} is down ({why})")

    def _ensure(self) -> bool:
        """Connect (or reconnect, at most once per backoff delay); True when the link is up."""
        if self._conn is not None:
            return True
        if self._clock() < self._next_try:
            return False
        first = self.down_since is None and self.reconnects == 0 and self.drops == 0
        try:
            self._open()
            if self._login is not None and not first:
                self._remote("initialize", *self._login[0], **self._login[1])
        except (OSError, EOFError, TimeoutError) as exc:  # refused, reset, unreachable, timed out
            self._conn = None
            self._drop(f"{type(exc).__name__}: {exc}")
            return False
        if not first:
            self.reconnects += 1
            log.info("MT5 bridge %s:%s reconnected", self.host, self.port)
        self._delay, self.down_since = self.backoff_s, None
        return True

    def _remote(self, name: str, *args: Any, **kwargs: Any) -> Any:
        payload = pickle.dumps(plain_args(args, kwargs), protocol=4)
        return rebuild(pickle.loads(self._conn.namespace["_af_call"](name, payload)))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``MetaTrader5.<name>`` on the far side; None (with ``last_error``) while down.

        A read that finds the link dead reconnects at once and is asked again; ``order_send``
        never is: it raises :class:`BridgeDownError`, its outcome being unknown."""
        with self._lock:
            if name == "initialize":
                self._login = (args, kwargs)
            for attempt in (1, 2):
                if not self._ensure():
                    return None
                try:
                    return self._remote(name, *args, **kwargs)
                except (OSError, EOFError, TimeoutError) as exc:
                    self._drop(f"{type(exc).__name__} during {name}: {exc}")
                    if name in SENDS:
                        raise BridgeDownError(f"MT5 bridge dropped during {name}: {exc}") from exc
                    if attempt == 1:
                        self._next_try = 0.0  # a stale link: try a fresh one straight away
            return None

    def last_error(self) -> tuple[int, str]:
        """The bridge's own error while it is down, else the terminal's ``last_error()``."""
        with self._lock:
            if self._conn is None:
                return self._error
            try:
                return tuple(self._remote("last_error"))
            except (OSError, EOFError, TimeoutError) as exc:
                self._drop(f"{type(exc).__name__} during last_error: {exc}")
                return self._error

    def close(self) -> None:
        """Close the link (no reconnection until the next call)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None

    def health(self) -> dict[str, Any]:
        """Link state for /ready and /metrics."""
        down = None if self.down_since is None else self._clock() - self.down_since
        return {"connected": self.connected, "reconnects": self.reconnects, "drops": self.drops,
                "down_for_s": down}  # fmt: skip

    # the module's namespace ------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name.isupper():  # a constant: read once, then cached
            if name not in self._consts:
                with self._lock:
                    if not self._ensure():
                        raise AttributeError(f"{name}: the MT5 bridge is down")
                    try:
                        self._consts[name] = self._conn.namespace["_af_const"](name)
                    except (OSError, EOFError, TimeoutError) as exc:
                        self._drop(f"{type(exc).__name__} reading {name}")
                        raise AttributeError(f"{name}: the MT5 bridge dropped") from exc
            return self._consts[name]

        def function(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, *args, **kwargs)

        function.__name__ = name
        return function


def mt5_module(
    bridge: str | None, timeout_s: float = 30.0, backoff_s: float = 0.5, max_backoff_s: float = 30.0
) -> Any:
    """The MetaTrader5 API: over the bridge at ``bridge`` (host:port), else the local module,
    which exists on Windows only."""
    if bridge:
        return MT5Bridge(bridge, timeout_s=timeout_s, backoff_s=backoff_s, max_backoff_s=max_backoff_s)
    try:
        import MetaTrader5
    except ImportError as exc:
        raise ImportError(
            "the MetaTrader5 package is Windows-only; elsewhere set an MT5 bridge (host:port)"
        ) from exc
    return MetaTrader5


def main(argv: list[str] | None = None) -> int:
    """``python -m marketdata.mt5_bridge HOST:PORT``: check a bridge end to end (connect,
    ``initialize``, terminal version, account server and currency) and print what it found."""
    import argparse
    import json

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("address", help="host:port of the bridge (mt5linux listens on 18812 or 8001)")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args(argv)
    mt5 = MT5Bridge(args.address, timeout_s=args.timeout)
    ok = bool(mt5.initialize())
    account = mt5.account_info() if ok else None
    print(json.dumps({
        "bridge": args.address, "initialized": ok, "last_error": list(mt5.last_error()),
        "version": list(mt5.version() or ()) if ok else None,
        "account": {"server": account.server, "currency": account.currency} if account else None,
    }))  # fmt: skip
    mt5.close()
    return 0 if ok and account is not None else 1


if __name__ == "__main__":
    raise SystemExit(main())
