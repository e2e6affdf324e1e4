"""--basemap goes into the report's Content-Security-Policy, so only a plain http(s) origin may."""

import pytest

from conftest import assert_user_error, noise_scene, run
from geotally.errors import GeotallyError
from geotally.report.html import basemap_origin

GOOD = {"https://tile.openstreetmap.org/{z}/{x}/{y}.png": "https://tile.openstreetmap.org",
        "http://localhost:8080/t/{z}/{x}/{y}.jpg?key=abc": "http://localhost:8080"}
BAD = ["http://h *; script-src *; x/{z}/{x}/{y}", "http://h/{z}/{x}/{y}'; script-src 'unsafe-eval",
       "javascript:alert(1)//{z}/{x}/{y}", "data:image/png;base64,{z}{x}{y}", "https://user:pw@h/{z}/{x}/{y}",
       "https://h/tiles.png", "https://h;x/{z}/{x}/{y}", "https://h:99999/{z}/{x}/{y}", "ftp://h/{z}/{x}/{y}",
       "https://h\n/{z}/{x}/{y}", "https://exa_mple.org/{z}/{x}/{y}",
       "https://{s}.tiles.example.org/{z}/{x}/{y}"]


@pytest.mark.parametrize("url", list(GOOD))
def test_plain_origins_are_accepted(url):
    assert basemap_origin(url) == GOOD[url]


@pytest.mark.parametrize("url", BAD)
def test_anything_else_is_refused(url):
    with pytest.raises(GeotallyError, match="--basemap"):
        basemap_origin(url)


def test_a_csp_injection_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--basemap", BAD[0], "--out", out)
    assert_user_error(code, err, "--basemap", out)


def test_the_policy_names_only_the_origin(tmp_path, monkeypatch, capsys):
    scene = noise_scene(tmp_path / "s.tif")
    out = tmp_path / "out"
    code, _, err = run(monkeypatch, capsys, "count", scene, "--basemap", "https://t.example.org/{z}/{x}/{y}.png",
                       "--out", out, "-q")
    assert code == 0, err
    html = (out / "report.html").read_text()
    csp = html.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0]
    assert csp == ("default-src 'none'; img-src data: https://t.example.org; style-src 'unsafe-inline'; "
                   "script-src 'unsafe-inline'")
