"""A MetaTrader 5 terminal simulator that follows the MetaTrader5 module's API, for tests and
dry runs; never on the production import path.

The package's namespace mirrors the module's: the MetaTrader5 constants plus
:class:`MT5TerminalSimulator`, whose instances offer the module's functions.
"""

from realtime.brokers.mt5_constants import *  # noqa: F403 - the package mirrors MetaTrader5's namespace
from tests.support.mt5sim.market import COPY_TICKS_INFO, COPY_TICKS_TRADE
from tests.support.mt5sim.records import OrderSendResult
from tests.support.mt5sim.terminal import MT5TerminalSimulator

__all__ = ["COPY_TICKS_INFO", "COPY_TICKS_TRADE", "MT5TerminalSimulator", "OrderSendResult"]
