"""The records the MetaTrader5 module returns, with the fields its documentation lists.

Named tuples, as the real module's structseq types: attribute access, ``_asdict()``. The field
order follows the MetaTrader5 Python documentation (``positions_get``, ``history_deals_get``,
``copy_ticks_range``, ``copy_rates_range``), trimmed of fields nothing here reads.
"""

from __future__ import annotations

from collections import namedtuple

SymbolInfo = namedtuple(
    "SymbolInfo",
    "name visible point digits volume_min volume_max volume_step trade_stops_level "
    "trade_contract_size filling_mode trade_exemode swap_long swap_short swap_rollover3days "
    "currency_profit",
)
Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")
TradeRequest = namedtuple(
    "TradeRequest",
    "action magic order symbol volume price stoplimit sl tp "
    "deviation type type_filling type_time expiration comment position position_by",
)
OrderCheckResult = namedtuple(
    "OrderCheckResult", "retcode balance equity profit margin margin_free margin_level comment request"
)
OrderSendResult = namedtuple(
    "OrderSendResult", "retcode deal order volume price bid ask comment request_id retcode_external request"
)
TradePosition = namedtuple(
    "TradePosition",
    "ticket time time_msc type magic identifier reason volume price_open sl tp price_current "
    "swap profit symbol comment",
)
TradeOrder = namedtuple(
    "TradeOrder",
    "ticket time_setup time_setup_msc type type_filling magic volume_initial volume_current "
    "price_open sl tp symbol comment",
)
TradeDeal = namedtuple(
    "TradeDeal",
    "ticket order time time_msc type entry magic position_id reason volume price "
    "commission swap profit fee symbol comment",
)
AccountInfo = namedtuple(
    "AccountInfo", "login balance equity profit margin margin_free leverage currency server"
)
TerminalInfo = namedtuple("TerminalInfo", "connected trade_allowed build name")

# ENUM_DEAL_REASON values the simulator produces (MQL5 documentation).
DEAL_REASON_CLIENT, DEAL_REASON_EXPERT, DEAL_REASON_SL, DEAL_REASON_TP = 0, 3, 4, 5
POSITION_REASON_EXPERT = 3
# ENUM_DAY_OF_WEEK (SYMBOL_SWAP_ROLLOVER3DAYS: the day whose rollover charges three nights).
SUNDAY, WEDNESDAY, SATURDAY = 0, 3, 6

TICK_DTYPE = [
    ("time", "i8"),
    ("bid", "f8"),
    ("ask", "f8"),
    ("last", "f8"),
    ("volume", "u8"),
    ("time_msc", "i8"),
    ("flags", "u4"),
    ("volume_real", "f8"),
]
RATES_DTYPE = [
    ("time", "i8"),
    ("open", "f8"),
    ("high", "f8"),
    ("low", "f8"),
    ("close", "f8"),
    ("tick_volume", "u8"),
    ("spread", "i4"),
    ("real_volume", "u8"),
]
