"""The feed interface: an async stream of quotes (ticks) or closed bars."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from realtime.brokers.base import Quote


@dataclass(frozen=True)
class BarEvent:
    """A closed 1-minute bar (``marketdata.schema.BAR_COLUMNS`` keys) for ``symbol``."""

    symbol: str
    bar: dict[str, Any]


class Feed(Protocol):
    """Anything that yields Quote (ticks) or BarEvent (closed bars), oldest first."""

    name: str

    def stream(self) -> AsyncIterator[Quote | BarEvent]:
        """The events, until the source ends or the task is cancelled."""
        ...
