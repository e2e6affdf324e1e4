"""The closure scenario: queues build up after a border closure and drain after the reopening,
with exact truth per date; the demo counts the series and finds the change point."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import assert_user_error, run
from geotally.synth import LayoutParams, SynthParams, series_params
from geotally.synth.scene import CLOSURE_LEVELS


def test_closure_series_builds_up_and_drains():
    lp = LayoutParams(queue={"TR": 20, "IQ": 40}, seed=4)
    runs = series_params(SynthParams(layout=lp), 6, "2026-06-01", closure="2026-06-15", reopen="2026-07-01")
    assert [p.date for p in runs] == ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22", "2026-06-29",
                                      "2026-07-06"]
    iq = [p.layout.queue["IQ"] for p in runs]
    lv = CLOSURE_LEVELS
    assert iq == [round(40 * lv["open"])] * 2 + [round(40 * lv["first_closed"]), 40, 40, round(40 * lv["drain"])]
    # Without a closure the series is the old random one (50-100% of the asked queue).
    plain = series_params(SynthParams(layout=lp), 6, "2026-06-01")
    assert all(20 <= p.layout.queue["IQ"] <= 40 for p in plain)


def test_closure_options_are_checked(tmp_path, monkeypatch, capsys):
    cases = [
        (["--dates", "4", "--reopen", "2026-06-20"], "--closure"),
        (["--closure", "2026-06-15"], "--dates"),
        (["--dates", "4", "--closure", "2026-06-15", "--reopen", "2026-06-10"], "must come after"),
        (["--dates", "4", "--closure", "15/06/2026"], "--closure takes a date"),
    ]
    for k, (args, fragment) in enumerate(cases):
        out = tmp_path / f"o{k}"
        code, _, err = run(monkeypatch, capsys, "synth", "--out", out, *args)
        assert_user_error(code, err, fragment, out)
    code, _, err = run(monkeypatch, capsys, "demo", "--scenario", "strike", "--out", tmp_path / "d")
    assert_user_error(code, err, "--scenario", tmp_path / "d")


@pytest.mark.slow
def test_closure_demo_counts_each_date_and_finds_the_closure(tmp_path, monkeypatch, capsys):
    """Six weekly dates at 0.3 m, through the detector: trucks per side and date near the truth, and the
    largest step of the series is the step into the first closed date."""
    out = tmp_path / "demo"
    code, stdout, err = run(monkeypatch, capsys, "demo", "--scenario", "closure", "--out", out, "-q")
    assert code == 0, err
    table = pd.read_csv(out / "closure_comparison.csv", keep_default_na=False)
    assert table["date"].nunique() == 6
    sides = table[table["side"] != "ALL"]
    assert (sides["error"].abs() <= (0.1 * sides["truth"]).clip(lower=2)).all(), sides
    for side, part in sides.groupby("side"):
        assert abs(part["count"].sum() - part["truth"].sum()) <= 0.1 * part["truth"].sum()
    assert "2026-06-08 -> 2026-06-15" in stdout and "matches" in stdout and "NOT" not in stdout
    counts = pd.read_csv(out / "results" / "counts.csv", keep_default_na=False)
    assert sorted(set(counts["date"])) == sorted(set(table["date"]))
    truth_all = table[table["side"] == "ALL"].set_index("date")["truth"]
    assert truth_all.diff().abs().idxmax() == "2026-06-15"  # the truth's own largest step is the closure
    summary = json.loads((out / "results" / "summary.json").read_text())
    assert len(summary["scenes"]) == 6
