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


def _resampled(src_path, dst_path, *, rows: float = 1.0, gsd: float | None = None):
    """The scene's northern ``rows`` share, or the whole scene at ``gsd`` metres (area-averaged)."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import Window

    with rasterio.open(src_path) as src:
        h = int(src.height * rows)
        scale = (gsd / src.res[0]) if gsd else 1.0
        w_out, h_out = round(src.width / scale), round(h / scale)
        data = src.read(window=Window(0, 0, src.width, h), out_shape=(src.count, h_out, w_out),
                        resampling=Resampling.average)
        profile = dict(src.profile, height=h_out, width=w_out,
                       transform=src.window_transform(Window(0, 0, src.width, h)) @ src.transform.scale(scale, scale))
    profile.pop("blockxsize", None), profile.pop("blockysize", None), profile.pop("tiled", None)
    with rasterio.open(dst_path, "w", **profile) as dst:
        dst.write(data)
    return dst_path


def test_a_claim_on_a_side_the_imagery_covers_in_part_says_so(border_scene, tmp_path):
    """The crossing's northern 60%: more of TR than of IQ. The claim's row says how much of each side
    the imagery covers, and that its count and verdict are of that part (it said nothing: a true
    claim on all of IQ was just 'too high'); the terminal says it under the claim."""
    truth = true_heavy(border_scene)
    crop = _resampled(border_scene["scene"], tmp_path / "north.tif", rows=0.6)
    res = geotally.count(crop, out=tmp_path / "res", zones=border_scene["sides"], claim=truth, claim_class="heavy")
    rows = {c["zone"]: c for c in res.summary.claims}
    share = res.tables["coverage.csv"].set_index("zone")["observed_share"].astype(float)
    assert 0.05 < share["IQ"] < 0.8 and share["IQ"] < share["TR"] < 0.9
    for zone in ("TR", "IQ"):
        assert rows[zone]["observed_share"] == pytest.approx(share[zone])
        assert rows[zone]["note"] == (f"the imagery covers {share[zone]:.0%} of {zone}: the count, its interval and "
                                      "the verdict are of that part")
    assert rows["IQ"]["raw_count"] < truth["IQ"]
    import json

    summary = json.loads((tmp_path / "res" / "summary.json").read_text())
    assert summary["claims"][1]["note"] == rows["IQ"]["note"]  # kept in summary.json (and so the report)
    full = geotally.count(border_scene["scene"], out=tmp_path / "full", border=border_scene["border"],
                          sides=("TR", "IQ"), claim=truth, claim_class="heavy")
    assert not any("note" in c for c in full.summary.claims)  # sides from the border: all of each imaged


def test_each_date_is_judged_at_its_own_gsd(border_scene, tmp_path):
    """Two dates of one place, at 0.15 m and at 0.8 m (beyond the model's validated GSDs): the second
    date's claim is untested for its GSD (it was judged with the first scene's 0.15 m rates)."""
    import shutil

    first = tmp_path / "zakho_20260601.tif"
    shutil.copy(border_scene["scene"], first)
    coarse = _resampled(border_scene["scene"], tmp_path / "zakho_20260608.tif", gsd=0.8)
    res = geotally.count([first, coarse], out=tmp_path / "res", zones=border_scene["sides"],
                         claim=true_heavy(border_scene), claim_class="heavy", date_pattern="zakho_{date:%Y%m%d}.tif")
    by_date = {(c["date"], c["zone"]): c["verdict"] for c in res.summary.claims}
    assert by_date[("2026-06-01", "TR")] == "consistent", by_date
    assert by_date[("2026-06-08", "TR")].startswith("untested: ") and "0.8 m" in by_date[("2026-06-08", "TR")], by_date


def test_the_terminal_says_where_the_rates_come_from_once(border_scene, tmp_path, monkeypatch, capsys):
    """Each claim line cites its rates by number; the source (a long sentence) is said once below."""
    from conftest import run

    monkeypatch.setenv("COLUMNS", "250")
    truth = true_heavy(border_scene)
    code, out, err = run(monkeypatch, capsys, "count", border_scene["scene"], "--border", border_scene["border"],
                         "--sides", "TR,IQ", "--claim", f"TR={truth['TR']},IQ={truth['IQ']}", "--claim-class", "heavy",
                         "--out", tmp_path / "res")
    assert code == 0, err
    lines = [ln for ln in out.splitlines() if ln.startswith("claim ")]
    assert len(lines) == 2 and all(ln.endswith("(rates: 1)") for ln in lines), out
    assert out.count("rates from the model's validation scenes") == 1 and "rates 1: 95% intervals, " in out


def test_a_run_at_another_conf_is_not_judged_with_rates_of_the_default(claimed, tmp_path):
    """The model's rates were measured on detections kept at its default --conf; a recount at --conf 0.5
    (fewer detections, another detection rate) was still judged with them. Now untested, saying why; the
    evaluation-made calibration is held to the thresholds its detections were kept at in the same way."""
    import shutil

    res, truth, out = claimed
    mine = tmp_path / "res"
    shutil.copytree(out, mine)
    again = geotally.recount(mine, conf=0.5)
    for c in again.summary.claims:
        assert c["verdict"].startswith("untested: the model's error rates were measured at its default --conf "
                                       "(large_vehicle 0.25"), c
        assert "this run keeps large_vehicle 0.5" in c["verdict"]
    back = geotally.recount(mine, conf=0.25)  # at the default again: judged (the claims are 5x and 1/5 of the truth)
    assert back.summary.claims and all(c["verdict"] in ("too high", "too low") for c in back.summary.claims)
