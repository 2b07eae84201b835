"""Labels: the only place where future data appears."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import mid_close


def forward_return_labels(bars: pd.DataFrame, horizon: int, dead_zone: float = 0.0) -> pd.Series:
    """Sign of the log mid return from bar t's close to bar t+horizon's close.

    1.0 = up, 0.0 = down, NaN inside the dead zone (|return| <= dead_zone) or where the
    horizon runs past the data.
    """
    log_mid = np.log(mid_close(bars).to_numpy(dtype=np.float64))
    fwd = np.full(len(log_mid), np.nan)
    if len(log_mid) > horizon:
        fwd[:-horizon] = log_mid[horizon:] - log_mid[:-horizon]
    label = np.where(fwd > dead_zone, 1.0, np.where(fwd < -dead_zone, 0.0, np.nan))
    label[np.isnan(fwd)] = np.nan
    return pd.Series(label, index=bars.index, name=f"label_fwd_{horizon}")
