"""FeedStatus: what /ready and /metrics know of the feed, written by its runner and the desk."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeedStatus:
    """The feed's state: the runner's flags and counters, and each symbol's newest quote time.

    ``running`` is None until a feed is started; ``task`` is the runner's own task (/ready asks
    it whether the feed is alive); ``dropped`` counts events dropped by the runner or the desk;
    ``last_quote`` holds the time of the newest quote per served symbol (the feed lag).
    """

    running: bool | None = None
    started: float | None = None
    ended: dt.datetime | None = None
    events: int = 0
    dropped: int = 0
    error: str | None = None
    task: asyncio.Task[Any] | None = None
    last_quote: dict[str, dt.datetime] = field(default_factory=dict)

    def alive(self, configured_feed: str) -> bool:
        """Whether the feed is up: its runner task is still running, or no feed was ever started.

        A feed object handed to ``create_app`` runs with ``settings.feed == "none"``, so the
        setting alone cannot tell; the runner's task (or its running flag) can.
        """
        if self.task is not None:
            return not self.task.done() and self.running is not False
        if self.running is not None:
            return self.running
        return configured_feed == "none"
