"""detections.kml shows what the report shows: named, class-coloured vehicles, and folders for zones,
border and queues."""

import xml.etree.ElementTree as ET

import pytest

import geotally

NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture(scope="module")
def kml(border_scene, tmp_path_factory):
    out = tmp_path_factory.mktemp("kml") / "res"
    r = geotally.count(border_scene["scene"], border=border_scene["border"], sides=("TR", "IQ"), out=out,
                       export=("kml",), tile_size=512, overlap=64, date="2026-06-15")
    return ET.parse(out / "detections.kml").getroot(), r


def test_folders_for_every_layer(kml):
    root, r = kml
    folders = {f.find("k:name", NS).text: f for f in root.iter("{%s}Folder" % NS["k"])}
    assert set(folders) == {"vehicles", "zones", "border", "queues"}
    assert len(folders["vehicles"].findall("k:Placemark", NS)) == len(r.detections)
    assert [p.find("k:name", NS).text for p in folders["zones"].findall("k:Placemark", NS)] == ["TR", "IQ"]
    assert len(folders["queues"].findall("k:Placemark", NS)) == len(r.queues) > 0


def test_vehicles_are_named_and_coloured_by_class(kml):
    root, r = kml
    styles = {s.get("id"): s.find("k:LineStyle/k:color", NS).text for s in root.iter("{%s}Style" % NS["k"])}
    vehicles = next(f for f in root.iter("{%s}Folder" % NS["k"]) if f.find("k:name", NS).text == "vehicles")
    by_class = {}
    for i, p in enumerate(vehicles.findall("k:Placemark", NS)):
        name = p.find("k:name", NS).text
        cls = name.rsplit(" ", 1)[0]
        assert name == f"{r.detections['class'].iloc[i]} {r.detections['det_id'].iloc[i]}"  # the id to cite
        by_class.setdefault(cls, set()).add(styles[p.find("k:styleUrl", NS).text[1:]])
    assert set(by_class) == {"large_vehicle", "small_vehicle"}
    assert all(len(c) == 1 for c in by_class.values())  # one colour per class
    assert by_class["large_vehicle"] != by_class["small_vehicle"]
    assert by_class["large_vehicle"] == {"ff0e7fff"}  # the report's orange #ff7f0e as aabbggrr


def test_vehicles_carry_their_date(kml):
    """Google Earth's time slider tells the dates of a run apart: each vehicle has its scene's date."""
    root, r = kml
    vehicles = next(f for f in root.iter("{%s}Folder" % NS["k"]) if f.find("k:name", NS).text == "vehicles")
    whens = [p.find("k:TimeStamp/k:when", NS) for p in vehicles.findall("k:Placemark", NS)]
    assert len(whens) == len(r.detections) and {w.text for w in whens if w is not None} == {"2026-06-15"}
