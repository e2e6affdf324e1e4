"""The self-contained HTML report and the exports beside it."""

from geotally.report.html import write_report

__all__ = ["write_report"]
