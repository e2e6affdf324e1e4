import json

import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from geotally.errors import GeotallyError
from geotally.zones.assign import OUTSIDE, assign_zones
from geotally.zones.load import load_zones
from geotally.zones.load import Zones

UTM = CRS.from_epsg(32638)
BOUNDS = (500000.0, 4100000.0, 500100.0, 4100100.0)


def _zones() -> Zones:
    west = shapely.box(500000, 4100000, 500050, 4100100)
    east = shapely.box(500050, 4100000, 500100, 4100100)
    return Zones(np.array(["west", "east"]), np.array([west, east]), "mem", "name")


def test_centres_go_to_the_zone_that_contains_them():
    pts = np.array([[500010, 4100010], [500090, 4100090], [500200, 4100010]])
    assert assign_zones(pts, _zones()).tolist() == ["west", "east", OUTSIDE]


def test_centre_on_shared_boundary_goes_to_first_zone_in_file_order():
    pts = np.array([[500050.0, 4100050.0]])
    assert assign_zones(pts, _zones()).tolist() == ["west"]
    z = _zones()
    flipped = Zones(z.names[::-1], z.polygons[::-1], "mem", "name")
    assert assign_zones(pts, flipped).tolist() == ["east"]


def test_centre_on_outer_boundary_is_inside():
    assert assign_zones(np.array([[500000.0, 4100020.0]]), _zones()).tolist() == ["west"]


def test_no_zones_means_outside():
    assert assign_zones(np.array([[0.0, 0.0]]), None).tolist() == [OUTSIDE]


def _write(path, features, crs="EPSG:4326"):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features,
                                **({"crs": {"type": "name", "properties": {"name": crs}}} if crs != "EPSG:4326" else {})}))
    return str(path)


def _ll_box(props, bounds):
    to_ll = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    x0, y0, x1, y1 = bounds
    ring = [to_ll.transform(x, y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_zones_in_wgs84_are_reprojected_to_the_scene(tmp_path):
    path = _write(tmp_path / "z.geojson", [_ll_box({"name": "A"}, (500000, 4100000, 500050, 4100100))])
    z = load_zones(path, UTM, BOUNDS)
    assert z.names.tolist() == ["A"]
    minx, miny, maxx, maxy = shapely.bounds(z.polygons[0])
    assert minx == pytest.approx(500000, abs=0.5) and maxx == pytest.approx(500050, abs=0.5)


def test_zones_from_geopackage_and_shapefile(tmp_path):
    import geopandas as gpd
    gdf = gpd.GeoDataFrame({"side": ["TR", "IQ"]}, geometry=[shapely.box(500000, 4100000, 500050, 4100100),
                                                              shapely.box(500050, 4100000, 500100, 4100100)], crs=UTM)
    for name in ("z.gpkg", "z.shp"):
        gdf.to_file(tmp_path / name)
        z = load_zones(str(tmp_path / name), UTM, BOUNDS, field="side")
        assert z.names.tolist() == ["TR", "IQ"]


@pytest.mark.parametrize("features,message", [
    ([], "no features"),
    ([_ll_box({"name": "far"}, (600000, 4100000, 600050, 4100100))], "do not overlap"),
    ([_ll_box({"other": "A"}, (500000, 4100000, 500050, 4100100))], "--zone-field"),
])
def test_bad_zone_files_are_one_line_errors(tmp_path, features, message):
    path = _write(tmp_path / "z.geojson", features)
    with pytest.raises(GeotallyError, match=message) as err:
        load_zones(path, UTM, BOUNDS)
    assert "\n" not in str(err.value)
