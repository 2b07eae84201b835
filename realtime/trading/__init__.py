"""The live trading loop.

``desk.Desk`` owns it: quotes come in through it (the broker's prices, the feed lag, the drawdown
watch), and every order goes out through it, whoever asks (the order and position routes, the
auto-trader in ``autotrader``, the kill switch's flatten, all closing through one
``Desk.close_position``). Below the desk, each module does one step and never calls back up:

- ``orders.OrderService``: the one order path (``checks`` -> ``risk`` -> ledger -> broker ->
  ``fills``), answering with the order or raising; a ``KillSwitchError`` says whether its own
  check engaged the switch, and the desk runs the actions;
- ``risk``: pre-trade limits and the kill switch's state; ``checks``: an order's own fields;
- ``fills``: booking what a broker reports, shared by the order path, ``sync`` and ``reconcile``;
- ``reconcile`` (start-up) and ``sync`` (periodic, for brokers that ``needs_sync``): the ledger
  against the broker; ``restart``: an in-process account rebuilt from the ledger.
"""
