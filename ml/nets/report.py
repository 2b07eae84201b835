"""What a fit reports, kept free of torch: a fitted classifier pickles it, and serving unpickles it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class TrainReport:
    """What happened: per-epoch losses, the epoch whose weights were kept, and how many epochs ran."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = math.inf

    @property
    def epochs_run(self) -> int:
        return len(self.history)
