"""Declarative automation and freshness, applied to the asset definitions from assets/.

The assets stay plain; orchestration decides when they run. bars_1m and features follow their
upstream eagerly (a new ticks partition yields its bars, then its features); ticks and bars_1m
carry a freshness policy that the freshness alert sensor reads (see orchestration.sensors).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg

EAGER_ASSETS = frozenset({"bars_1m", "features"})
# The daily schedule ingests at 00:30 UTC; a day without a fresh partition by 02:00 is late
# (warn), by 06:00 something is broken (fail).
FRESHNESS = {
    "ticks": dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=30),
                                            warn_window=dt.timedelta(hours=26)),
    "bars_1m": dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=30),
                                              warn_window=dt.timedelta(hours=26)),
}


def _automate(spec: dg.AssetSpec) -> dg.AssetSpec:
    name = spec.key.to_user_string()
    if name in EAGER_ASSETS:
        spec = spec.replace_attributes(automation_condition=dg.AutomationCondition.eager())
    if name in FRESHNESS:
        spec = spec.replace_attributes(freshness_policy=FRESHNESS[name])
    return spec


def automate(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """``assets`` with the eager conditions and freshness policies above applied."""
    return list(dg.map_asset_specs(_automate, assets))


def fail_window(policy: dg.FreshnessPolicy) -> dt.timedelta:
    """The fail window of a time-window freshness policy, as a plain timedelta."""
    w = policy.fail_window  # type: ignore[attr-defined]
    return dt.timedelta(days=w.days, seconds=w.seconds, microseconds=w.microseconds)
