"""Dates: where a scene's date comes from, counts per date (never added across dates), and overlapping
undated scenes refused rather than silently deduplicated."""

import json
import shutil

import pandas as pd
import pytest
import rasterio

import geotally
from conftest import assert_user_error, noise_scene, run
from geotally.errors import GeotallyError
from geotally.imagery.dates import date_from_name, name_pattern


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """The same small crossing on three dates, each GeoTIFF tagged with its date."""
    from geotally.synth import LayoutParams, SynthParams, series_params, write_scene

    folder = tmp_path_factory.mktemp("series")
    lp = LayoutParams(width_m=200, height_m=500, queue={"TR": 10, "IQ": 14}, depot={"IQ": 6}, cars_road=6,
                      cars_park=0, seed=4)
    runs = series_params(SynthParams(layout=lp, gsd=0.3), 3, "2026-06-01")
    scenes = [write_scene(folder, p, name=f"scene_{p.date}") for p in runs]
    return folder, scenes


def _read(path):
    return pd.read_csv(path, keep_default_na=False, dtype={"date": str})


def test_a_three_date_run_counts_each_date_as_its_own_run(series, tmp_path):
    folder, scenes = series
    out = tmp_path / "all"
    geotally.count_scenes([s["scene"] for s in scenes], out=out, border=scenes[0]["border"], sides=("TR", "IQ"),
                          tile_size=512, overlap=64)
    counts = _read(out / "counts.csv")
    assert list(counts.columns[:4]) == ["date", "zone", "class", "count"]
    assert list(dict.fromkeys(counts["date"])) == ["2026-06-01", "2026-06-08", "2026-06-15"]
    for s in scenes:
        own = geotally.count(s["scene"], border=s["border"], sides=("TR", "IQ"), tile_size=512, overlap=64).counts
        mine = counts[counts["date"] == s["date"]]
        assert mine[["zone", "class", "count"]].values.tolist() == own[["zone", "class", "count"]].values.tolist()
    # the ALL rows total one date's zones, never several dates'
    for d, rows in counts.groupby("date"):
        zones = rows[rows["zone"] != "ALL"].groupby("class")["count"].sum()
        totals = rows[rows["zone"] == "ALL"].set_index("class")["count"]
        assert (zones == totals).all()
    activity = _read(out / "counts_by_activity.csv")
    assert set(activity["date"]) == {s["date"] for s in scenes}


def test_two_undated_overlapping_scenes_are_refused_not_deduplicated(tmp_path, monkeypatch, capsys):
    a = noise_scene(tmp_path / "a.tif")
    b = tmp_path / "b.tif"
    shutil.copy(a, b)
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", a, b, "--out", out)
    assert_user_error(code, err, "--date", out)
    # with one date given, they are one mosaic: each vehicle once
    code, _, err = run(monkeypatch, capsys, "count", a, b, "--date", "2026-06-01", "--out", out, "-q")
    assert code == 0, err
    assert set(_read(out / "counts.csv")["date"]) == {"2026-06-01"}


def test_dates_from_file_names(series, tmp_path):
    folder, scenes = series
    renamed = tmp_path / "names"
    renamed.mkdir()
    for s in scenes:  # drop the tags: the date must come from the name
        target = renamed / f"zakho_{s['date'].replace('-', '')}.tif"
        shutil.copy(s["scene"], target)
        with rasterio.open(target, "r+") as dst:
            dst.update_tags(ACQUISITION_DATE="")
    out = tmp_path / "out"
    geotally.count_scenes([str(renamed)], out=out, date_pattern="zakho_{date:%Y%m%d}.tif", tile_size=512, overlap=64)
    assert list(dict.fromkeys(_read(out / "counts.csv")["date"])) == [s["date"] for s in scenes]
    assert json.loads((out / "summary.json").read_text())["inputs"]["date_pattern"] == "zakho_{date:%Y%m%d}.tif"


def test_date_pattern_parsing():
    assert date_from_name("/x/zakho_20260601_v2.tif", "zakho_{date:%Y%m%d}_*.tif") == "2026-06-01"
    assert date_from_name("S2_2026-152.tif", "S2_{date:%Y-%j}.tif") == "2026-06-01"
    with pytest.raises(GeotallyError, match="does not match"):
        date_from_name("other.tif", "zakho_{date:%Y%m%d}.tif")
    with pytest.raises(GeotallyError, match="one {date:FORMAT} field"):
        name_pattern("zakho.tif")
    with pytest.raises(GeotallyError, match="not a date"):
        date_from_name("zakho_20261340.tif", "zakho_{date:%Y%m%d}.tif")


def test_a_bad_date_is_one_line(tmp_path, monkeypatch, capsys):
    a = noise_scene(tmp_path / "a.tif")
    code, _, err = run(monkeypatch, capsys, "count", a, "--date", "June 1st", "--out", tmp_path / "o")
    assert_user_error(code, err, "--date takes a date", tmp_path / "o")


def test_change_over_a_multi_date_run(series, tmp_path, monkeypatch, capsys):
    folder, scenes = series
    out = tmp_path / "all"
    geotally.count_scenes([s["scene"] for s in scenes], out=out, border=scenes[0]["border"], sides=("TR", "IQ"),
                          tile_size=512, overlap=64)
    code, stdout, err = run(monkeypatch, capsys, "change", out, "-o", tmp_path / "change.csv")
    assert code == 0, err
    table = _read(tmp_path / "change.csv")
    assert list(dict.fromkeys(zip(table["date_a"], table["date_b"]))) == [("2026-06-01", "2026-06-08"),
                                                                         ("2026-06-08", "2026-06-15")]
    counts = _read(out / "counts.csv").set_index(["date", "zone", "class"])["count"]
    sizes = _read(out / "counts_by_size.csv").rename(columns={"size_class": "class"})
    heavy = sizes[sizes["class"].isin(["rigid_truck", "articulated"])].groupby(["date", "zone"])["count"].sum()
    heavy.index = pd.MultiIndex.from_tuples([(d, z, "heavy") for d, z in heavy.index], names=["date", "zone", "class"])
    counts = pd.concat([counts, sizes.set_index(["date", "zone", "class"])["count"], heavy])  # a row per size class, heavy
    assert set(sizes["class"]) <= set(table["class"])
    for r in table.to_dict("records"):
        assert r["difference"] == counts[(r["date_b"], r["zone"], r["class"])] - counts[(r["date_a"], r["zone"], r["class"])]
    assert "largest step" in stdout


def test_the_report_chart_never_adds_dates(series, tmp_path):
    folder, scenes = series
    out = tmp_path / "all"
    r = geotally.count_scenes([s["scene"] for s in scenes[:2]], out=out, tile_size=512, overlap=64)
    html = (out / "report.html").read_text()
    for cls in ("large_vehicle", "small_vehicle"):  # one chart per class
        chart = html.split(f'id="zone-chart-{cls}"', 1)[1].split("</svg>", 1)[0]
        labels = [t.split("<", 1)[0] for t in chart.split("<title>")[1:]]
        for s in scenes[:2]:  # every bar is one date's zone, with that date's count of the class
            mine = r.counts[(r.counts["date"] == s["date"]) & (r.counts["zone"] != "ALL") & (r.counts["class"] == cls)]
            for zone, n in mine.groupby("zone", sort=False)["count"].sum().items():
                assert f"{s['date']} {zone}: {n:g}" in labels


def test_date_option_is_checked_and_said_unused_where_scenes_carry_dates(tmp_path, monkeypatch, capsys):
    """--date dates the undated only: a bad one is refused even where every scene has its own date (it was
    accepted unsaid), and a good one that no scene takes is said so."""
    import rasterio

    from conftest import noise_scene, run

    scene = noise_scene(tmp_path / "tagged.tif")
    with rasterio.open(scene, "r+") as dst:
        dst.update_tags(ACQUISITION_DATE="2026-06-01")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--date", "2026-13-01", "--out", tmp_path / "bad")
    assert code == 2 and "--date takes a date like 2026-06-01, got '2026-13-01'" in err
    monkeypatch.setenv("COLUMNS", "300")
    code, _, err = run(monkeypatch, capsys, "count", scene, "--date", "2026-06-08", "--out", tmp_path / "ok")
    assert code == 0, err
    assert "--date 2026-06-08 is not used for 1 of 1 scenes, which carry dates of their own (tagged.tif: 2026-06-01)" in err
