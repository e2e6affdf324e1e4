"""A verdict on every claim by default: without --calibration a claim is judged against the shipped
model's own validated error rates (its registry entry's error_rates), and counts come per size class.
On a generated crossing with exact truth."""

from __future__ import annotations

import pandas as pd
import pytest

import geotally
from geotally.analysis.counts import check_claims, claim_counts
from geotally.analysis.model_error import default_interval
from geotally.config.defaults import DEFAULT_MODEL
from geotally.models.registry import get_spec


@pytest.fixture(scope="module")
def rates() -> dict:
    block = (get_spec(DEFAULT_MODEL).card or {}).get("error_rates")
    assert block, f"{DEFAULT_MODEL} carries no error_rates (python -m benchmarks.model_error --write)"
    return block


def true_heavy(scene: dict) -> dict[str, int]:
    """True vehicles of 10 m and longer per side, from the generated scene's truth file."""
    import geopandas as gpd

    truth = gpd.read_file(scene["truth"])
    heavy = truth[truth["length"] >= 10.0]
    return {side: int((heavy["side"] == side).sum()) for side in ("TR", "IQ")}


@pytest.fixture(scope="module")
def claimed(border_scene, tmp_path_factory):
    """The crossing counted with no calibration and a claim on trucks of 10 m and longer ("heavy", what
    "trucks and tankers" means) five times the truth on TR and a fifth of it on IQ."""
    truth = true_heavy(border_scene)
    out = tmp_path_factory.mktemp("verdict") / "res"
    res = geotally.count(border_scene["scene"], out=out, zones=border_scene["sides"], border=border_scene["border"],
                         sides=("TR", "IQ"), claim={"TR": 5 * truth["TR"], "IQ": truth["IQ"] / 5},
                         claim_class="heavy")
    return res, truth, out


def test_five_times_and_a_fifth_are_inconsistent_without_calibration(claimed):
    res, truth, _ = claimed
    assert min(truth.values()) >= 5  # enough trucks on each side for the test to mean something
    verdicts = {c["zone"]: c for c in res.summary.claims}
    assert verdicts["TR"]["verdict"] == "too high", verdicts["TR"]
    assert verdicts["IQ"]["verdict"] == "too low", verdicts["IQ"]
    for c in verdicts.values():
        assert c["class"] == "heavy" and c["rates"] == "model validation (default)"
        assert "validation scenes" in c["rates_source"] and "not from this scene" in c["rates_source"]


def test_true_counts_are_consistent(claimed, rates):
    res, truth, _ = claimed
    rows = check_claims(truth, claim_counts(res.counts, res.tables, "heavy"), "heavy", rates, res.scene.gsd_m)
    assert {r["zone"]: r["verdict"] for r in rows} == {"TR": "consistent", "IQ": "consistent"}, rows
    assert all("validation scenes" in r["rates_source"] for r in rows)


def test_all_large_vehicles_five_times_too_many_is_too_high(claimed, rates, border_scene):
    res, _, _ = claimed
    n = border_scene["counts"]["TR"]["large_vehicle"]
    row = check_claims({"TR": 5 * n}, res.counts, "large_vehicle", rates, res.scene.gsd_m)[0]
    assert row["verdict"] == "too high", row


def test_counts_by_size_sum_to_the_vehicles_of_counts_csv(claimed):
    _, _, out = claimed
    counts = pd.read_csv(out / "counts.csv", keep_default_na=False, dtype={"date": str})
    sizes = pd.read_csv(out / "counts_by_size.csv", keep_default_na=False, dtype={"date": str})
    assert set(sizes["size_class"]) == {"car", "van_light_truck", "rigid_truck", "articulated"}
    per_zone = lambda t: t.groupby(["date", "zone"])["count"].sum()  # noqa: E731
    pd.testing.assert_series_equal(per_zone(sizes), per_zone(counts))
    assert per_zone(counts).loc[("", "ALL")] > 0


def test_a_size_class_claim_is_judged(claimed, rates):
    res, _, _ = claimed
    by_size = res.tables["counts_by_size.csv"]
    heavy = int(by_size[(by_size["zone"] == "TR") & by_size["size_class"].isin(["rigid_truck", "articulated"])]
                ["count"].sum())
    table = claim_counts(res.counts, res.tables, "heavy")
    row = check_claims({"TR": 50 * heavy + 100}, table, "heavy", rates, res.scene.gsd_m)[0]
    assert row["raw_count"] == heavy
    assert row["verdict"] == "too high", row
    assert "validation scenes" in row["rates_source"]


def test_every_default_interval_rests_on_measured_coverage(rates):
    """A row gives a default interval only where leave-one-group-out coverage on validation reached 0.90;
    elsewhere the claim is untested, with the reason."""
    for gsd, rows in rates["gsds"].items():
        for cls, r in rows.items():
            got, why = default_interval(rates, cls, 40, scene_gsd=float(gsd))
            if got is None:
                assert "no default interval" in why and r.get("no_interval"), (gsd, cls, why)
            else:
                cov = r["coverage"]
                assert cov["covered"] / cov["scenes"] >= 0.90, (gsd, cls, cov)


def test_a_gsd_outside_the_validated_range_is_untested(rates):
    got, why = default_interval(rates, "large_vehicle", 40, scene_gsd=2.0)
    assert got is None and "outside" in why and "validated" in why


def test_recount_keeps_the_size_table_and_judges_by_default(claimed):
    """A recount (no detection) with a new claim on all large vehicles: counts_by_size.csv is written again,
    unchanged, and the claim gets the default verdict."""
    res, _, out = claimed
    before = (out / "counts_by_size.csv").read_bytes()
    n = int(res.counts.set_index(["zone", "class"]).loc[("TR", "large_vehicle"), "count"])
    again = geotally.recount(out, claim={"TR": 10 * n + 50}, claim_class="large_vehicle")
    assert (out / "counts_by_size.csv").read_bytes() == before
    row = again.summary.claims[0]
    assert row["verdict"] == "too high" and row["rates"] == "model validation (default)", row
