"""summary.json holds the vehicles per date, zone and size class, the same rows as counts_by_size.csv,
and a recount keeps them in step with the table."""

from __future__ import annotations

import json

import pandas as pd

import geotally


def _rows(folder):
    table = pd.read_csv(folder / "counts_by_size.csv", keep_default_na=False, dtype={"date": str, "zone": str})
    return table.to_dict(orient="records")


def test_summary_holds_the_size_table_and_a_recount_keeps_it(border_scene, tmp_path):
    out = tmp_path / "r"
    geotally.count_scenes([border_scene["scene"]], out=out, tile_size=512, overlap=64,
                          border=border_scene["border"], sides=("TR", "IQ"))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts_by_size"] == _rows(out)
    assert {r["zone"] for r in summary["counts_by_size"]} >= {"TR", "IQ", "ALL"}
    geotally.recount(out, size_thresholds=(5.0, 9.0, 13.0))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts_by_size"] == _rows(out)
    assert summary["config"]["size_thresholds"] == [5.0, 9.0, 13.0]
