"""Every CSV geotally writes is safe to open in a spreadsheet: a zone or road named like a formula
is written with a leading ' (OWASP's advice on CSV injection), while numbers, negative ones too,
stay numbers."""

import csv
import json
import re

import pandas as pd
import rasterio
from pyproj import Transformer

from conftest import noise_scene, run

FORMULAS = ["=cmd|/c calc!A1", "=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tlead tab", "\rlead cr"]
RISKY = re.compile(r"^[=+\-@\t\r]")
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _geojson(path, feats):
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::32638"}}, "features": feats}))
    return path


def _zones(tmp_path):
    x0, y0, w = 500000.0, 4100000.0, 128.0 / len(FORMULAS)
    return _geojson(tmp_path / "zones.geojson", [
        {"type": "Feature", "properties": {"name": n}, "geometry": {"type": "Polygon", "coordinates": [[
            [x0 + i * w, y0], [x0 + (i + 1) * w, y0], [x0 + (i + 1) * w, y0 - 128], [x0 + i * w, y0 - 128],
            [x0 + i * w, y0]]]}} for i, n in enumerate(FORMULAS)])


def _roads(tmp_path):
    x0, y0 = 500000.0, 4100000.0
    return _geojson(tmp_path / "roads.geojson", [
        {"type": "Feature", "properties": {"highway": "primary", "name": n, "ref": f"@R{i}", "id": f"={i}"},
         "geometry": {"type": "LineString", "coordinates": [[x0 - 50, y0 - 10 - 15 * i], [x0 + 200, y0 - 10 - 15 * i]]}}
        for i, n in enumerate(FORMULAS)])


def _dated_scene(path, date, seed):
    noise_scene(path, seed=seed)
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(TIFFTAG_DATETIME=f"{date.replace('-', ':')} 10:00:00")
    return path


def _cells(path):
    with open(path, newline="") as fh:
        return [c for row in csv.reader(fh) for c in row]


def test_safe_table_quotes_formulas_and_keeps_numbers():
    from geotally.store.outputs import safe_table

    t = pd.DataFrame({"zone": FORMULAS + ["-3", "ok"], "n": range(-1, len(FORMULAS) + 1)})
    safe = safe_table(t)
    assert safe["zone"].tolist() == ["'" + f.replace("\r", "\n") for f in FORMULAS] + ["-3", "ok"]
    assert safe["n"].tolist() == t["n"].tolist() and safe["n"].dtype == t["n"].dtype


def test_every_csv_of_a_run_and_of_change_is_safe(tmp_path, monkeypatch, capsys):
    scenes = [_dated_scene(tmp_path / f"s{k}.tif", d, k) for k, d in enumerate(["2026-06-01", "2026-06-02"])]
    lon0, lat0 = Transformer.from_crs(32638, 4326, always_xy=True).transform(500010, 4099990)
    lon1, lat1 = Transformer.from_crs(32638, 4326, always_xy=True).transform(500120, 4099990)
    common = ["--zones", _zones(tmp_path), "--roads", _roads(tmp_path), "--route", f"{lon0},{lat0};{lon1},{lat1}", "-q"]
    a = tmp_path / "a"
    code, _, err = run(monkeypatch, capsys, "count", *scenes, "--out", a, *common)
    assert code == 0, err
    change = tmp_path / "change.csv"
    code, _, err = run(monkeypatch, capsys, "change", a, "-o", change)
    assert code == 0, err
    files = sorted(a.glob("*.csv")) + [change]
    names = {p.name for p in files}
    # stationary.csv needs vehicles, which noise has none of; it is written by the same writer as the rest
    assert {"counts.csv", "coverage.csv", "counts_by_road.csv", "counts_by_route.csv", "change.csv"} <= names, names
    seen = set()
    for p in files:
        for cell in _cells(p):
            assert not (RISKY.match(cell) and not NUMBER.match(cell)), (p.name, cell)
            seen.update(f for f in FORMULAS if cell == "'" + f.replace("\r", "\n"))
    assert seen == set(FORMULAS)  # every hostile name reached a CSV, quoted
    counts = pd.read_csv(a / "counts.csv", keep_default_na=False)
    assert pd.api.types.is_integer_dtype(counts["count"])  # every row whole: no name broke a line
