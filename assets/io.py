"""An IO manager that keeps asset outputs in the store, so steps in separate pods share no disk.

Dagster's default IO manager pickles outputs under the run's local storage: with one pod per
step (k8s_job_executor) the next step would not find them. Here an output is pickled into the
store's keyed table ``dagster_io`` (key: asset and partition), so it travels exactly as market
data does (ClickHouse in production). Outputs are small by design: the training set passes its
window and lineage, and each model step reads the rows from the store itself.
"""

from __future__ import annotations

import base64
import pickle
import re
from typing import Any

import dagster as dg
import pandas as pd

from assets.resources import MarketDataResource

IO_TABLE = "dagster_io"


def _key(context: dg.OutputContext | dg.InputContext) -> dict[str, str]:
    asset = "__".join(context.asset_key.path)
    partition = context.asset_partition_key if context.has_asset_partitions else "all"
    # key values name files in a lake: "/" and "|" (a multi-partition key) become "="
    return {"asset": re.sub(r"[^A-Za-z0-9._@+-]", "=", asset.replace("_", "-")),
            "partition": re.sub(r"[^A-Za-z0-9._@+-]", "=", partition)}


class StoreIOManager(dg.ConfigurableIOManager):
    """Pickled outputs in the configured store's ``dagster_io`` table."""

    market: MarketDataResource

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        """Replace the stored value of this asset (and partition)."""
        if obj is None:
            return
        payload = base64.b64encode(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)).decode()
        frame = pd.DataFrame({"payload": pd.Series([payload], dtype="string")})
        self.market.store().replace_rows(IO_TABLE, _key(context), frame)
        context.add_output_metadata({"stored_bytes": len(payload)})

    def load_input(self, context: dg.InputContext) -> Any:
        """The value the upstream step stored; a clear failure when there is none."""
        upstream = context.upstream_output
        if upstream is None:
            raise dg.Failure("no upstream output to load")
        rows = self.market.store().read_rows(IO_TABLE, _key(upstream))
        if rows.empty:
            raise dg.Failure(f"no stored output for {context.asset_key.to_user_string()}: "
                             "materialise it first")
        return pickle.loads(base64.b64decode(str(rows["payload"].iloc[0])))
