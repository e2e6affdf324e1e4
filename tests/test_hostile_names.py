"""User text that could break out of the report or the terminal: zone names, side names, file names
and claims from a hostile corpus. The report must parse, run none of it, and show it as text; the
terminal must print it as itself."""

import json
import re
import shutil

import pytest

from conftest import noise_scene, run, scene_box
from geotally.report.html import script_json

HOSTILE = ["<!--<script>", "</script><script>window.__pwned=1</script>", "[/]", "[bold red]x[/", "a&amp;b\"'`",
           "line\u2028sep", "<img src=x onerror=window.__pwned=2>"]


def _zones(tmp_path, names):
    """Vertical strips over noise_scene, one per name."""
    x0, y0 = 500000.0, 4100000.0
    w = 128.0 / len(names)
    feats = [{"type": "Feature", "properties": {"name": n},
              "geometry": {"type": "Polygon", "coordinates": [[[x0 + i * w, y0], [x0 + (i + 1) * w, y0],
                                                                [x0 + (i + 1) * w, y0 - 128], [x0 + i * w, y0 - 128],
                                                                [x0 + i * w, y0]]]}} for i, n in enumerate(names)]
    p = tmp_path / "zones.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:32638"}},
                             "features": feats}))
    return p


def test_script_json_has_no_markup_characters():
    text = script_json({"names": HOSTILE, "n": float("nan")})
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"names": HOSTILE, "n": None}


def test_hostile_zone_names_print_as_themselves(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    (tmp_path / "out[").mkdir()
    out = tmp_path / "out[/]x"  # a folder "]x" inside a folder "out[": rich would read "[/]" as a closing tag
    code, stdout, err = run(monkeypatch, capsys, "count", scene, "--zones", _zones(tmp_path, HOSTILE),
                            "--out", out)
    assert code == 0, err
    for name in ("<!--<script>", "[/]", "[bold red]x[/"):
        assert name in stdout  # the counts table shows the name, markup and all
    assert "out[/]x" in err
    # resume with the same odd --out works too
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", _zones(tmp_path, HOSTILE), "--out", out)
    assert code == 0, err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_hostile_names_in_the_report_stay_text(tmp_path, monkeypatch, capsys):
    playwright = pytest.importorskip("playwright.sync_api")
    folder = tmp_path / "odd<!--[/]"
    folder.mkdir(parents=True)
    scene = noise_scene(folder / "scene<!--<script>.tif")
    claim = ",".join(f"{n}=3" for n in HOSTILE if "," not in n and "=" not in n)
    out = tmp_path / "res"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--zones", _zones(tmp_path, HOSTILE), "--out", out,
                       "--claim", claim, "-q")
    assert code == 0, err
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((out / "report.html").resolve().as_uri())
        page.locator("#map[data-drawn-footprints]").wait_for(state="attached")  # no eval: the report's CSP forbids it
        data = page.evaluate("JSON.parse(document.getElementById('geotally-data').textContent)")
        pwned = page.evaluate("window.__pwned === undefined")
        table = page.inner_text("#counts-table")
        browser.close()
    assert errors == []
    assert pwned
    assert data["zone_names"] == HOSTILE
    assert "<!--<script>" in table and "[/]" in table
