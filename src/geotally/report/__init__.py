"""The self-contained HTML report and the exports beside it."""
