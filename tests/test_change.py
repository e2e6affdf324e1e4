"""Change between dates: differences, ratios, and with a calibration an interval of the true difference
that covers it as often as it says, and a verdict only the interval supports."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from conftest import assert_user_error, run
from geotally.analysis.calibration import ClassCalibration
from geotally.analysis.change import change_point, change_verdict, difference_interval, series


def test_difference_interval_coverage_by_simulation():
    """Over 200 simulated pairs of dates with known rates, the 95% interval of N_b - N_a holds the truth
    90-99% of the time."""
    rng = np.random.default_rng(5)
    r, f, hits, trials = 0.8, 0.05, 0, 200
    for s in range(trials):
        nk = rng.poisson(40, 10)
        cal = ClassCalibration(nk.tolist(), rng.binomial(nk, r).tolist(), rng.poisson(f * nk).tolist())
        na, nb = int(rng.integers(30, 400)), int(rng.integers(30, 400))
        raw_a = rng.binomial(na, r) + rng.poisson(f * na)
        raw_b = rng.binomial(nb, r) + rng.poisson(f * nb)
        _, lo, hi = difference_interval(int(raw_a), int(raw_b), cal, n_boot=300, seed=s)
        hits += lo <= nb - na <= hi
    assert 0.90 <= hits / trials <= 0.99, hits / trials


def test_verdicts_follow_the_interval():
    assert change_verdict(3, 10).startswith("increase")
    assert change_verdict(-10, -3).startswith("decrease")
    assert change_verdict(-3, 10) == "no detectable change"
    cal = ClassCalibration([50] * 8, [40] * 8, [2] * 8)
    est, lo, hi = difference_interval(100, 200, cal)
    assert lo > 0 and 100 < est < 140  # 100 more found at r + f = 0.84: about 119 more true
    _, lo, hi = difference_interval(100, 103, cal)
    assert lo < 0 < hi


def _counts(rows):
    return pd.DataFrame(rows, columns=["date", "zone", "class", "count"])


def test_series_and_change_point():
    counts = _counts([(d, z, "large_vehicle", n) for d, ns in
                      (("2026-06-01", (10, 12)), ("2026-06-08", (11, 12)), ("2026-06-15", (60, 70)),
                       ("2026-06-22", (58, 71))) for z, n in zip(("TR", "IQ", "ALL"), (*ns, sum(ns)))])
    table = series(counts)
    assert list(dict.fromkeys(zip(table["date_a"], table["date_b"]))) == [
        ("2026-06-01", "2026-06-08"), ("2026-06-08", "2026-06-15"), ("2026-06-15", "2026-06-22")]
    tr = table[(table["zone"] == "TR")]
    assert tr["difference"].tolist() == [1, 49, -2] and tr["ratio"].tolist()[1] == pytest.approx(60 / 11, rel=1e-3)
    cp = change_point(table)
    assert (cp["from"], cp["to"], cp["difference"]) == ("2026-06-08", "2026-06-15", 107)
    assert table["verdict"].str.startswith("untested").all()  # raw counts: no verdict without a calibration


def test_change_cli_between_two_runs(tmp_path, monkeypatch, capsys):
    from conftest import noise_scene

    a = noise_scene(tmp_path / "a.tif")
    b = noise_scene(tmp_path / "b.tif", seed=3)
    for name, scene, date in (("ra", a, "2026-06-01"), ("rb", b, "2026-06-08")):
        assert run(monkeypatch, capsys, "count", scene, "--date", date, "--out", tmp_path / name, "-q")[0] == 0
    out = tmp_path / "change.csv"
    monkeypatch.setenv("COLUMNS", "250")  # the table's rows unwrapped
    code, stdout, err = run(monkeypatch, capsys, "change", tmp_path / "ra", tmp_path / "rb", "-o", out)
    assert code == 0, err
    table = pd.read_csv(out, keep_default_na=False)
    assert set(table["date_a"]) == {"2026-06-01"} and set(table["date_b"]) == {"2026-06-08"}
    # which runs, by their summary.json (model, parameters, every input's checksum): change.csv said none
    from geotally.imagery.checksum import file_sha256

    for side, name in (("a", "ra"), ("b", "rb")):
        assert set(table[f"results_{side}"]) == {str((tmp_path / name).resolve())}
        assert set(table[f"summary_sha256_{side}"]) == {file_sha256(tmp_path / name / "summary.json")}
    ca = pd.read_csv(tmp_path / "ra" / "counts.csv").set_index(["zone", "class"])["count"]
    cb = pd.read_csv(tmp_path / "rb" / "counts.csv").set_index(["zone", "class"])["count"]
    sizes = table["class"].isin(["car", "van_light_truck", "rigid_truck", "articulated", "heavy"])  # size rows
    assert sizes.any()
    got = table[~sizes].set_index(["zone", "class"])["difference"]
    assert (got == (cb - ca).loc[got.index]).all()
    assert "largest step" in stdout
    # no calibration: the model's own validated rates judge where they give an interval, else untested, with why
    default = table["rates"] == "model validation (default)"
    assert default.any() and table.loc[default, "verdict"].isin(
        ["no detectable change", "increase (consistent with the data)", "decrease (consistent with the data)"]).all()
    assert table.loc[~default, "verdict"].str.startswith("untested: ").all()
    # the terminal gives each reason once, under the table, and cites it by number in the rows
    cited = set(re.findall(r"untested \((\d+)\)", stdout))
    assert cited and all(stdout.count(f"\n({k}) ") == 1 for k in cited), stdout
    for why in set(table.loc[(table["zone"] == "ALL") & ~default, "verdict"].str.slice(len("untested: "), 40)):
        assert stdout.replace("\n", " ").count(why) == 1, (why, stdout)
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "ra", tmp_path / "rb", "-o", out)
    assert_user_error(code, err, "--force")
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "ra")
    assert_user_error(code, err, "one date")
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "rb", tmp_path / "ra", "-o", tmp_path / "back.csv")
    assert_user_error(code, err, f"{tmp_path / 'rb'} (2026-06-08) is later than {tmp_path / 'ra'} (2026-06-01); give the "
                                 "earlier run first")
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "ra", tmp_path / "ra", "-o", tmp_path / "twice.csv")
    assert_user_error(code, err, "is given twice")
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "ra", tmp_path / "rb", "-o", tmp_path)
    assert_user_error(code, err, f"is a folder; give a file name like {tmp_path / 'change.csv'}")


def test_change_cli_with_a_calibration(tmp_path, monkeypatch, capsys):
    from conftest import noise_scene
    from geotally.analysis.calibration import Calibration

    cal = tmp_path / "cal.json"
    Calibration({"large_vehicle": ClassCalibration([50] * 6, [40] * 6, [2] * 6),
                 "small_vehicle": ClassCalibration([50] * 6, [45] * 6, [1] * 6)}, source="test").save(cal)
    for name, seed, date in (("ra", 0, "2026-06-01"), ("rb", 3, "2026-06-08")):
        scene = noise_scene(tmp_path / f"{name}.tif", seed=seed)
        code, _, err = run(monkeypatch, capsys, "count", scene, "--date", date, "--calibration", cal,
                           "--out", tmp_path / name, "-q")
        assert code == 0, err
    out = tmp_path / "change.csv"
    code, stdout, err = run(monkeypatch, capsys, "change", tmp_path / "ra", tmp_path / "rb", "-o", out)
    assert code == 0, err
    table = pd.read_csv(out, keep_default_na=False)
    assert {"estimate_difference", "lo95", "hi95"} <= set(table.columns)
    sizes = table["class"].isin(["car", "van_light_truck", "rigid_truck", "articulated", "heavy"])  # size rows
    assert (table["lo95"] <= table["hi95"]).all()
    assert not table[~sizes]["verdict"].str.startswith("untested").any()
    assert table[sizes]["verdict"].str.startswith("untested: the calibration has no").all()


def test_two_runs_compare_only_over_the_same_zones_and_sides(border_scene, tmp_path, monkeypatch, capsys):
    """One image counted twice: with its zones (85% of each imaged: the generated zones reach past the
    scene) the two runs compare, step for step zero, not 'not comparable'. A recount of the second with
    the sides named the other way round, or without its zones, is refused: zone names alone matched
    TR with IQ (42 -> 19 and 19 -> 42 for one image)."""
    import shutil

    a, b = tmp_path / "a", tmp_path / "b"
    args = [border_scene["scene"], "--zones", border_scene["sides"], "--border", border_scene["border"], "--sides",
            "TR,IQ", "-q"]
    assert run(monkeypatch, capsys, "count", *args, "--date", "2026-06-01", "--out", a)[0] == 0
    shutil.copytree(a, b)
    code, _, err = run(monkeypatch, capsys, "change", a, b, "-o", tmp_path / "same.csv")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "same.csv", keep_default_na=False)
    shares = table["observed_share_a"].replace("", np.nan).astype(float)
    assert ((shares > 0.5) & (shares < 0.9)).any()  # partial zones, the same on both dates
    assert (table["difference"] == 0).all() and not table["verdict"].str.startswith("not comparable").any()
    assert run(monkeypatch, capsys, "recount", b, "--sides", "IQ,TR", "-q")[0] == 0
    code, _, err = run(monkeypatch, capsys, "change", a, b, "-o", tmp_path / "swapped.csv")
    assert_user_error(code, err, "the runs name the border's sides differently (left, right: TR, IQ in")
    assert not (tmp_path / "swapped.csv").exists()
    c = tmp_path / "c"
    assert run(monkeypatch, capsys, "count", border_scene["scene"], "--border", border_scene["border"], "--sides",
               "TR,IQ", "-q", "--date", "2026-06-08", "--out", c)[0] == 0
    code, _, err = run(monkeypatch, capsys, "change", a, c, "-o", tmp_path / "nozones.csv")
    assert_user_error(code, err, f"{a} was counted with zones and {c} without; recount {c} with the --zones")


def test_two_dates_that_imaged_different_halves_of_a_zone_are_not_comparable(border_scene, tmp_path, monkeypatch,
                                                                             capsys):
    """The west half of a scene on one date, the east half on the next: each images the same share of
    every zone, so the shares alone passed them as comparable and the change compared two areas. What
    each date imaged is now in zones.gpkg, and the two halves overlap nowhere; the west half twice
    overlaps in full and compares."""
    import rasterio
    from rasterio.windows import Window

    halves = {}
    with rasterio.open(border_scene["scene"]) as src:
        w = src.width // 2
        for name, col in (("west", 0), ("east", w)):
            win = Window(col, 0, w, src.height)
            profile = dict(src.profile, width=w, height=src.height, transform=src.window_transform(win))
            halves[name] = tmp_path / f"{name}.tif"
            with rasterio.open(halves[name], "w", **profile) as dst:
                dst.write(src.read(window=win))
    zones = ["--zones", border_scene["sides"], "-q"]
    for out, half, date in (("a", "west", "2026-06-01"), ("b", "east", "2026-06-08"), ("c", "west", "2026-06-15")):
        code, _, err = run(monkeypatch, capsys, "count", halves[half], *zones, "--date", date, "--out", tmp_path / out)
        assert code == 0, err
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "a", tmp_path / "b", "-o", tmp_path / "apart.csv")
    assert code == 0, err
    apart = pd.read_csv(tmp_path / "apart.csv", keep_default_na=False)
    rows = apart[apart["zone"].isin(["TR", "IQ", "ALL"])]
    shares = rows[["observed_share_a", "observed_share_b"]].astype(float)
    assert (shares < 0.9).all().all() and ((shares["observed_share_a"] - shares["observed_share_b"]).abs() <= 0.05).all()
    assert rows["verdict"].str.startswith("not comparable: the dates imaged different parts of the zone").all(), \
        rows["verdict"].tolist()
    assert (rows["imaged_overlap"].astype(float) == 0).all()
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "a", tmp_path / "c", "-o", tmp_path / "same.csv")
    assert code == 0, err
    same = pd.read_csv(tmp_path / "same.csv", keep_default_na=False)
    rows = same[same["zone"].isin(["TR", "IQ", "ALL"])]
    assert (rows["imaged_overlap"].astype(float) == 1).all()
    assert not rows["verdict"].str.startswith("not comparable").any()
    # without zones a date's area is what it imaged: the two halves compared two areas there too
    for out, half, date in (("na", "west", "2026-06-01"), ("nb", "east", "2026-06-08")):
        code, _, err = run(monkeypatch, capsys, "count", halves[half], "-q", "--date", date, "--out", tmp_path / out)
        assert code == 0, err
    code, _, err = run(monkeypatch, capsys, "change", tmp_path / "na", tmp_path / "nb", "-o", tmp_path / "nz.csv")
    assert code == 0, err
    nz = pd.read_csv(tmp_path / "nz.csv", keep_default_na=False)
    assert (nz["imaged_overlap"].astype(float) == 0).all()
    assert nz["verdict"].str.startswith("not comparable: the dates imaged different parts").all(), nz["verdict"].tolist()


def test_two_runs_counted_with_different_settings_are_refused(border_scene, tmp_path, monkeypatch, capsys):
    """A recount of the second run with --conf 0.9 and other size thresholds: change called its 19
    fewer trucks a "decrease (consistent with the data)"; the difference was the threshold's. Queue
    rules shape only the queue columns, so a run recounted with another --queue-min still compares."""
    import shutil

    a, b = tmp_path / "a", tmp_path / "b"
    assert run(monkeypatch, capsys, "count", border_scene["scene"], "--zones", border_scene["sides"], "-q",
               "--date", "2026-06-01", "--out", a)[0] == 0
    shutil.copytree(a, b)
    assert run(monkeypatch, capsys, "recount", b, "--conf", "0.9", "--size-thresholds", "6,10,20", "-q")[0] == 0
    code, _, err = run(monkeypatch, capsys, "change", a, b, "-o", tmp_path / "c.csv")
    assert_user_error(code, err, "the runs were counted with different settings (conf ")
    assert "size_thresholds_m [6.0, 10.0, 14.0] and [6.0, 10.0, 20.0]" in err and f"recount {b} with the other's" in err
    assert not (tmp_path / "c.csv").exists()
    assert run(monkeypatch, capsys, "recount", b, "--conf", "0.25", "--size-thresholds", "6,10,14", "--queue-min", "12",
               "-q")[0] == 0
    code, _, err = run(monkeypatch, capsys, "change", a, b, "-o", tmp_path / "c.csv")
    assert code == 0, err
    assert (pd.read_csv(tmp_path / "c.csv", keep_default_na=False)["difference"] == 0).all()


def test_interval_columns_are_written_to_the_hundredth():
    """The bootstrap's quantiles went to change.csv as they came: hi95 17.024999999997817."""
    from geotally.analysis.calibration import Calibration
    from geotally.analysis.change import compare

    cal = Calibration({"large_vehicle": ClassCalibration([50, 61, 47, 55, 58, 49], [40, 52, 35, 47, 50, 38],
                                                         [2, 5, 1, 3, 4, 2], ["a", "a", "b", "b", "c", "c"])},
                      source="test")
    a = pd.DataFrame({"zone": ["ALL"], "class": ["large_vehicle"], "count": [47]})
    b = pd.DataFrame({"zone": ["ALL"], "class": ["large_vehicle"], "count": [59]})  # lo95 was 2.9750000000004206
    row = compare(a, b, cal).iloc[0]
    for col in ("estimate_difference", "lo95", "hi95"):
        assert row[col] == round(row[col], 2), (col, row[col])
