"""change: counts compared between dates."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from geotally.cli.base import app, err, out


@app.command("change")
def change_cmd(
    results: List[Path] = typer.Argument(..., metavar="RESULTS", help="One multi-date results folder, or two results folders (earlier first)."),
    out_file: Path = typer.Option(Path("change.csv"), "--out", "-o", help="Table of the changes."),
    force: bool = typer.Option(False, "--force", help="Replace the table if it exists."),
) -> None:
    """Compare dates: per zone and class the difference and ratio of counts, and with a calibration
    the 95% interval of the true difference and whether it supports an increase or a decrease."""
    from rich.table import Table

    from geotally.api import change

    done = change(results, out=out_file, force=force)
    shown = done.table[done.table["zone"] == "ALL"]
    t = Table(title="change between dates, all zones")
    for col in ("from", "to", "class", "count", "difference", "ratio", "verdict"):
        t.add_column(col)
    reasons: dict[str, int] = {}  # an untested row's reason, said once under the table and cited by number

    def cited(verdict) -> str:
        text = str(verdict)
        if not text.startswith("untested: "):
            return text
        return f"untested ({reasons.setdefault(text[len('untested: '):], len(reasons) + 1)})"

    for r in shown.to_dict("records"):
        iv = f" [{r['lo95']:.0f}, {r['hi95']:.0f}]" if r.get("lo95") is not None and r.get("lo95") == r.get("lo95") else ""
        t.add_row(str(r["date_a"]), str(r["date_b"]), str(r["class"]), f"{r['count_a']} → {r['count_b']}",
                  f"{r['difference']:+d}{iv}", "" if r["ratio"] is None or r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}",
                  cited(r["verdict"]))
    out.print(t)
    point = done.change_point
    step = cited(point["verdict"]) if point else ""
    for why, k in reasons.items():
        out.print(f"({k}) {why}")
    sources = {str(x) for x in shown.get("rates_source", []) if isinstance(x, str) and x}
    for text in sorted(sources):
        out.print(f"intervals: 95%, {text}")
    if point:
        out.print(f"largest step ({point['class']}, all zones): {point['from']} → {point['to']}, "
                  f"{point['difference']:+d}: {step}")
    err.print(f"changes written to {out_file}")
