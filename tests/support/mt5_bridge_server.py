"""A classic RPyC server on 127.0.0.1 that hosts a terminal simulator as the ``MetaTrader5`` module.

It is the arrangement of ``python -m mt5linux`` and the MetaTrader5 Docker images (a
``SlaveService`` whose Python can ``import MetaTrader5``), with the simulator in the place of
the Windows module, so that tests drive the real transport. ``BridgeServer.kill()`` drops the
listener and every open link at once (the bridge process dying); ``start()`` brings it back on
the same port with the same terminal, which kept its state as a real one would.
``drop_after`` makes the next call of a function execute and then kill the server before the
answer leaves: an order lost in the middle of a round trip.

Run alone for a dry run: ``python -m tests.support.mt5_bridge_server --port 18812``.
"""

from __future__ import annotations

import argparse
import sys
import threading
import types
from typing import Any

from rpyc.core import SlaveService
from rpyc.utils.server import ThreadedServer

import tests.support.mt5sim as mt5sim
from tests.support.mt5sim import MT5TerminalSimulator


def as_module(sim: MT5TerminalSimulator, server: BridgeServer | None = None) -> types.ModuleType:
    """A ``MetaTrader5`` module whose functions are ``sim``'s and whose constants are the API's."""
    mod = types.ModuleType("MetaTrader5")
    for name in dir(mt5sim):
        if name.isupper():
            setattr(mod, name, getattr(mt5sim, name))
    for name in dir(sim):
        attr = getattr(sim, name)
        if not name.startswith("_") and callable(attr):
            setattr(mod, name, _hooked(name, attr, server) if server else attr)
    return mod


def _hooked(name: str, fn: Any, server: BridgeServer) -> Any:
    def call(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if server.drop_after.pop(name, None):
            server.kill()  # executed at the terminal; the answer never leaves
            raise ConnectionResetError(f"bridge killed after {name}")
        return out

    return call


class BridgeServer:
    """A threaded classic RPyC server for ``sim`` on 127.0.0.1:``port`` (0 = a free one)."""

    def __init__(self, sim: MT5TerminalSimulator, port: int = 0):
        self.sim, self.port = sim, port
        self.drop_after: dict[str, bool] = {}
        self._server: ThreadedServer | None = None
        self._saved: Any = None

    def start(self) -> BridgeServer:
        """Listen (again) and serve in a background thread."""
        self._saved = sys.modules.get("MetaTrader5")
        sys.modules["MetaTrader5"] = as_module(self.sim, self)
        server = ThreadedServer(
            SlaveService, hostname="127.0.0.1", port=self.port, reuse_addr=True,
            protocol_config={"allow_all_attrs": True, "allow_pickle": True, "sync_request_timeout": 30},
        )  # fmt: skip
        server._listen()  # listening before start() returns, so that a client may connect at once
        self.port = server.port
        self._server = server
        threading.Thread(target=server.start, name=f"mt5-bridge-{self.port}", daemon=True).start()
        return self

    @property
    def address(self) -> str:
        """``host:port`` for REALTIME_MT5_BRIDGE."""
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """Close the listener and every open link."""
        server, self._server = self._server, None
        if server is not None:
            server.close()  # shuts every client socket down too

    def stop(self) -> None:
        """Kill the server and restore ``sys.modules``."""
        self.kill()
        if self._saved is None:
            sys.modules.pop("MetaTrader5", None)
        else:
            sys.modules["MetaTrader5"] = self._saved


def main() -> None:
    """Serve a simulator with EURUSD quoted until interrupted."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=18812)
    ap.add_argument("--server-tz", default=None, help="IANA zone of the simulated server clock")
    args = ap.parse_args()
    sim = MT5TerminalSimulator(server_tz=args.server_tz)
    sim.add_symbol("EURUSD")
    import time

    sim.push_tick("EURUSD", 1.10000, 1.10010, int(time.time() * 1000))
    server = BridgeServer(sim, args.port).start()
    print(f"MetaTrader5 simulator served at {server.address}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
