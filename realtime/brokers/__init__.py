"""Brokers behind one interface: PaperBroker (simulated fills) and MT5Broker (MetaTrader5 API)."""

from realtime.brokers.base import Broker, BrokerPosition, ExecReport, OrderIntent, Quote

__all__ = ["Broker", "BrokerPosition", "ExecReport", "OrderIntent", "Quote"]
