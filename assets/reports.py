"""Tearsheets as Dagster metadata: markdown tables, the figures inlined, a link to the MLflow run."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import dagster as dg
from mlflow import MlflowClient

from ml.report import markdown_table, summary_table
from ml.report.publish import PublishedReport, run_url, ui_base

# Figures shown inline in the Dagster UI; the rest are one click away in MLflow and the HTML page.
INLINE_FIGURES = ("equity_drawdown", "monthly_returns", "costs", "feature_importance")


def report_metadata(client: MlflowClient, tracking_uri: str, report: PublishedReport,
                    images: bool = True) -> dict[str, Any]:
    """Metadata entries of one published tearsheet (figures inlined when ``images``)."""
    experiment = client.get_run(report.run_id).info.experiment_id
    meta: dict[str, Any] = {
        "mlflow_run": dg.MetadataValue.url(run_url(ui_base(tracking_uri), experiment, report.run_id)),
        "tearsheet_html": dg.MetadataValue.path(str(report.files["html"])),
        "summary": dg.MetadataValue.md(markdown_table(summary_table(report.sheet))),
        "costs": dg.MetadataValue.md(markdown_table(report.sheet.costs)),
    }
    if images:
        parts = []
        for name in INLINE_FIGURES:
            path: Path | None = report.files.get(name)
            if path is not None:
                png = base64.b64encode(path.read_bytes()).decode()
                parts.append(f"![{name}](data:image/png;base64,{png})")
        meta["tearsheet"] = dg.MetadataValue.md("\n\n".join(parts))
    return meta
