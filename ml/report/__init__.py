"""Tearsheets: the numbers (``data``), matplotlib figures (``figures``), files and a
self-contained HTML page (``html``), permutation importances (``importance``) and MLflow
publishing (``publish``)."""

from ml.report.data import Tearsheet, build_tearsheet, summary_table
from ml.report.html import markdown_table, tearsheet_data, write_report

__all__ = ["Tearsheet", "build_tearsheet", "markdown_table", "summary_table", "tearsheet_data",
           "write_report"]
