"""/api/v1/models/{version}/trades: the round trips a served model version's auto-trader made.

This is what a paper-trading period is judged on (:mod:`ml.paper_period`): the batch tier asks
the service that traded the version on paper for its closed trades, net of their costs.
"""

import datetime as dt
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AfterValidator, BeforeValidator

from realtime.deps import AdminDep, ServicesDep
from realtime.schemas import RoundTripOut
from realtime.trading.autotrader import order_prefix

router = APIRouter(prefix="/models", tags=["models"])


# RFC 3339, as the schema's date-time format says: pydantic alone would take "5" as a Unix time
# and a time without a zone as local.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _rfc3339(value: object) -> object:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("since must be an RFC 3339 time with its zone, e.g. 2024-03-05T00:00:00Z")
    return value


def _utc(since: dt.datetime) -> dt.datetime:
    """``since`` in UTC; one that UTC cannot hold (year 1 at a positive offset) is a validation
    error, not a 500."""
    try:
        return since.astimezone(dt.UTC)
    except OverflowError:
        raise ValueError("since is out of range once converted to UTC") from None


Since = Annotated[
    dt.datetime,
    BeforeValidator(_rfc3339),
    AfterValidator(_utc),
    Query(description="RFC 3339 time with its zone; trades opened before it are left out"),
]


@router.get("/{version}/trades", response_model=list[RoundTripOut])
def model_trades(
    version: Annotated[str, Path(pattern=r"^[1-9][0-9]{0,8}$")],
    who: AdminDep,
    svc: ServicesDep,
    since: Since,
) -> list[RoundTripOut]:
    """The closed positions the auto-trader opened while serving model ``version``, oldest first."""
    rows = svc.ledger.round_trips(order_prefix(version), since)
    return [RoundTripOut.model_validate(r) for r in rows]
