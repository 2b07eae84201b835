"""The op that ends a paper-trading period: weigh the @paper version's own paper trades, then
make it @champion or drop it (:mod:`ml.paper_period`). The daily schedule
``orchestration.evaluation.paper_period_daily`` runs it; ``alphaforge`` users can launch
``paper_period`` from the Dagster UI at any time."""

import datetime as dt

import dagster as dg

from assets.resources import MLflowResource, RealtimeResource
from ml import paper_period
from ml.paper_period import PaperRules


class PaperConfig(dg.Config):
    """What the paper period must show (see :class:`ml.paper_period.PaperRules`)."""

    min_trades: int = PaperRules.min_trades
    min_net_pnl: float = PaperRules.min_net_pnl  # account currency, after commission and swap


@dg.op(description="Judge the @paper version on its paper trades; on a pass it becomes @champion.")
def judge_paper_period(
    context: dg.OpExecutionContext,
    config: PaperConfig,
    mlflow_server: MLflowResource,
    paper_service: RealtimeResource,
) -> str:
    """The verdict: 'none' (no version on paper), 'running', 'passed' or 'failed'."""
    client = mlflow_server.activate()
    name = mlflow_server.registered_model
    period = paper_period.current_period(client, name)
    if period is None:
        context.add_output_metadata({"verdict": "none"})
        return "none"
    trades = paper_service.model_trades(period.version, period.since)
    verdict = paper_period.judge(
        period, trades, PaperRules(config.min_trades, config.min_net_pnl), dt.datetime.now(dt.UTC)
    )
    champion = paper_period.conclude(client, name, verdict)
    context.add_output_metadata(
        {
            "version": verdict.version,
            "verdict": verdict.state,
            "champion": champion,
            "paper_trades": verdict.n_trades,
            "paper_net_pnl": verdict.net_pnl,
            "period_ends": period.ends().isoformat(),
            "failures": "; ".join(verdict.failures) or "none",
        }
    )
    return verdict.state
