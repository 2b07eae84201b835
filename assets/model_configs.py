"""The train job's configuration: the training window, the candidate selection, the gate."""

import dagster as dg
from pydantic import Field

from ml.registry import PromotionGate


class TrainingSetConfig(dg.Config):
    """Training window (ISO dates; empty = everything stored) and labels."""

    start: str = ""
    end: str = ""
    symbols: str = ""  # comma separated; empty = ALPHAFORGE_SYMBOLS
    horizon: int = 15
    label: str = "forward"  # or "triple_barrier"
    holdout_days: int = 0  # the newest stored days, frozen: never trained on or selected with


class GateConfig(dg.Config):
    """Promotion thresholds on out-of-sample figures."""

    min_sharpe: float = PromotionGate.min_sharpe
    max_drawdown: float = PromotionGate.max_drawdown
    min_trades: int = PromotionGate.min_trades
    min_dsr: float = PromotionGate.min_dsr
    min_psr: float = PromotionGate.min_psr
    require_track_record: bool = PromotionGate.require_track_record
    require_lookahead_check: bool = PromotionGate.require_lookahead_check
    max_pbo: float = PromotionGate.max_pbo  # judged only when model_selection ran CPCV
    min_holdout_sharpe: float = PromotionGate.min_holdout_sharpe  # judged only with a holdout
    paper_days: float = PromotionGate.paper_days  # > 0: a pass makes @paper, not @champion

    def gate(self) -> PromotionGate:
        """These thresholds as the registry's gate."""
        return PromotionGate(self.min_sharpe, self.max_drawdown, self.min_trades, self.min_dsr, self.min_psr,
                             self.require_track_record, self.require_lookahead_check, self.max_pbo,
                             self.min_holdout_sharpe, self.paper_days)


class SelectionConfig(dg.Config):
    """Combinatorial purged CV over families x hyperparameters x thresholds, for the PBO of the
    choice. Off by default: every candidate is fitted once per CPCV split."""

    cpcv: bool = False
    families: list[str] = Field(default_factory=list)  # empty = the trained families
    thresholds: list[float] = Field(default_factory=lambda: [0.55])
    cv_splits: int = 3  # CPCV over cv_splits + 1 groups
    pbo_splits: int = 8
