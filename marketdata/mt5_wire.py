"""What crosses the MT5 bridge: plain values only, so that either side's versions do not matter.

The MetaTrader5 module answers with its own record types (named tuples) and numpy structured
arrays. Sent over RPyC as they are, each would stay on the Windows side as a proxy, and every
attribute read would be another round trip that fails once the link drops. So the far side
turns an answer into builtins (``plain``), pickles it, and this side rebuilds records with the
same fields (``rebuild``). Arrays travel as their dtype description and bytes, never as numpy
pickles (numpy 1 and 2 pickle arrays differently). ``REMOTE_HELPERS`` is the far side's half:
source executed once per connection in the classic RPyC namespace, next to
``import MetaTrader5``, exactly as an mt5linux server offers it.
"""

from __future__ import annotations

from collections import namedtuple
from functools import cache
from typing import Any

import numpy as np

REMOTE_HELPERS = """
import pickle as _af_pickle
import MetaTrader5 as _af_mt5

def _af_plain(v):
    if hasattr(v, "_asdict"):
        d = v._asdict()
        return ("rec", type(v).__name__, tuple(d), tuple(_af_plain(x) for x in d.values()))
    if hasattr(v, "dtype") and hasattr(v, "tobytes"):
        if not v.dtype.fields:
            return v.item() if v.shape == () else ("list", [_af_plain(x) for x in v.tolist()])
        return ("array", [(n, str(v.dtype.fields[n][0].str)) for n in v.dtype.names], v.tobytes())
    if isinstance(v, (tuple, list)):
        return ("tuple" if isinstance(v, tuple) else "list", [_af_plain(x) for x in v])
    if isinstance(v, dict):
        return ("dict", [(k, _af_plain(x)) for k, x in v.items()])
    return v

def _af_call(name, payload):
    args, kwargs = _af_pickle.loads(payload)
    out = getattr(_af_mt5, name)(*args, **kwargs)
    return _af_pickle.dumps(_af_plain(out), protocol=4)

def _af_const(name):
    return getattr(_af_mt5, name)
"""


@cache
def _record_type(name: str, fields: tuple[str, ...]) -> Any:
    return namedtuple(name, fields)


def rebuild(v: Any) -> Any:
    """The local twin of a value ``_af_plain`` flattened: records, arrays, tuples, dicts."""
    if not isinstance(v, tuple) or len(v) < 2 or not isinstance(v[0], str):
        return v
    kind = v[0]
    if kind == "rec" and len(v) == 4:
        return _record_type(v[1], tuple(v[2]))(*(rebuild(x) for x in v[3]))
    if kind == "array" and len(v) == 3:
        return np.frombuffer(v[2], dtype=np.dtype([tuple(f) for f in v[1]])).copy()
    if kind == "tuple" and len(v) == 2:
        return tuple(rebuild(x) for x in v[1])
    if kind == "list" and len(v) == 2:
        return [rebuild(x) for x in v[1]]
    if kind == "dict" and len(v) == 2:
        return {k: rebuild(x) for k, x in v[1]}
    return v


def plain_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Arguments as builtins: numpy scalars become Python numbers (the MetaTrader5 module refuses
    them), datetimes stay (pickle carries them between Python versions)."""

    def conv(x: Any) -> Any:
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, dict):
            return {k: conv(y) for k, y in x.items()}
        return x

    return tuple(conv(a) for a in args), {k: conv(v) for k, v in kwargs.items()}
