"""A vector input is read whole or refused with one line: a table without shapes, a feature without
a geometry, or a GeoPackage of several layers with none named for the purpose."""

import json

import geopandas as gpd
import pytest
import shapely

from geotally.errors import GeotallyError
from geotally.zones.load import read_vector


def _zones(tmp_path):
    return gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)],
                            crs=32638)


def test_a_table_without_shapes_is_refused(tmp_path):
    table = tmp_path / "counts.csv"
    table.write_text("name,x\nA,1\n")
    with pytest.raises(GeotallyError, match="holds no geometries"):
        read_vector(str(table), "zones file")


def test_a_feature_without_geometry_is_refused_not_dropped(tmp_path):
    path = tmp_path / "zones.geojson"
    _zones(tmp_path).to_file(path)
    doc = json.loads(path.read_text())
    doc["features"][1]["geometry"] = None
    path.write_text(json.dumps(doc))
    with pytest.raises(GeotallyError, match="feature 2 has no geometry"):
        read_vector(str(path), "zones file")


def test_a_geopackage_of_several_layers_is_read_at_the_named_one_or_refused(tmp_path):
    path = tmp_path / "two.gpkg"
    zones = _zones(tmp_path)
    zones.to_file(path, layer="other")
    zones.iloc[:1].to_file(path, layer="zones")
    assert read_vector(str(path), "zones file")["name"].tolist() == ["A"]  # the zones layer, not the first
    with pytest.raises(GeotallyError, match=r"holds 2 layers \(other, zones\)"):
        read_vector(str(path), "truth file")


def test_an_input_named_like_an_output_in_the_results_folder_is_refused_and_kept(tmp_path, monkeypatch, capsys):
    from conftest import assert_user_error, noise_scene, run

    out = tmp_path / "out"
    out.mkdir()
    scene = noise_scene(out / "preview.tif")  # the run writes its own preview.tif there
    before = scene.read_bytes()
    code, _, err = run(monkeypatch, capsys, "count", scene, "--out", out, "--quiet")
    assert_user_error(code, err, "would replace it")
    assert scene.read_bytes() == before and sorted(p.name for p in out.iterdir()) == ["preview.tif"]
    scene.rename(out / "my_scene.tif")  # under any other name it is kept beside the results
    code, _, err = run(monkeypatch, capsys, "count", out / "my_scene.tif", "--out", out, "--quiet")
    assert code == 0, err
    assert (out / "my_scene.tif").read_bytes() == before and (out / "counts.csv").exists()


@pytest.mark.parametrize("option", [["--datetime", "2026-06-01/.."], ["--max-items", "1"], ["--gsd-range", "0.1,0.5"],
                                    ["--remote"]])
def test_a_catalogue_filter_without_a_catalogue_is_refused(tmp_path, monkeypatch, capsys, option):
    from conftest import assert_user_error, noise_scene, run

    scene = noise_scene(tmp_path / "scene.tif")
    code, _, err = run(monkeypatch, capsys, "count", scene, *option, "--out", tmp_path / "out", "--quiet")
    assert_user_error(code, err, option[0], out_dir=tmp_path / "out")


@pytest.mark.parametrize("option", [["--claim", "TR=5,TR=600"], ["--conf", "large_vehicle=0.3,large_vehicle=0.9"]])
def test_a_key_given_twice_is_refused_not_the_last_kept(tmp_path, monkeypatch, capsys, option):
    from conftest import assert_user_error, noise_scene, run

    scene = noise_scene(tmp_path / "scene.tif")
    code, _, err = run(monkeypatch, capsys, "count", scene, *option, "--out", tmp_path / "out", "--quiet")
    assert_user_error(code, err, "twice", out_dir=tmp_path / "out")


def test_review_sample_options_without_a_sample_are_refused(tmp_path, monkeypatch, capsys):
    from conftest import assert_user_error, run

    code, _, err = run(monkeypatch, capsys, "review", tmp_path, "--windows", "5", "--no-browser")
    assert_user_error(code, err, "--windows shapes a review sample")


def test_a_missing_zone_field_points_to_the_option_only_where_the_command_has_one(tmp_path):
    from geotally.zones.load import load_zones

    path = tmp_path / "zones.geojson"
    _zones(tmp_path).rename(columns={"name": "side"}).to_file(path)
    with pytest.raises(GeotallyError, match="use --zone-field with one of: side"):
        load_zones(str(path), None, (0, 0, 20, 10))
    with pytest.raises(GeotallyError, match="rename the one holding the zone names to 'name'") as e:
        load_zones(str(path), None, (0, 0, 20, 10), field_option=None)  # evaluate has no --zone-field
    assert "--zone-field" not in str(e.value)


def test_two_overlapping_scenes_of_one_name_are_told_apart_by_path(tmp_path, monkeypatch, capsys):
    from conftest import assert_user_error, noise_scene, run

    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    a, b = noise_scene(tmp_path / "a" / "scene.tif"), noise_scene(tmp_path / "b" / "scene.tif", seed=1)
    code, _, err = run(monkeypatch, capsys, "count", a, b, "--out", tmp_path / "out", "--quiet")
    assert_user_error(code, err, "overlap", out_dir=tmp_path / "out")
    assert str(a) in err and str(b) in err  # not "scene.tif and scene.tif"


def test_a_georeferenced_border_on_a_scene_without_georeference_says_so(tmp_path):
    from geotally.zones.border import load_border

    path = tmp_path / "border.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(500000, 4100000), (500100, 4100100)])], crs=32638).to_file(path)
    with pytest.raises(GeotallyError, match="georeferenced but the scene is not"):
        load_border(str(path), None, (0, 0, 100, 100))


@pytest.mark.parametrize("relative", [False, True])
def test_a_vrt_whose_source_is_missing_names_the_missing_file(tmp_path, monkeypatch, capsys, relative):
    from conftest import assert_user_error, run

    vrt = tmp_path / "mosaic.vrt"
    vrt.write_text('<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>EPSG:32638</SRS><GeoTransform>500000,0.5,0,'
                   '4100000,0,-0.5</GeoTransform><VRTRasterBand dataType="Byte" band="1"><SimpleSource>'
                   '<SourceFilename relativeToVRT="1">gone.tif</SourceFilename><SourceBand>1</SourceBand>'
                   '</SimpleSource></VRTRasterBand></VRTDataset>')
    monkeypatch.chdir(tmp_path.parent)  # the source is found beside the VRT, not in the working folder
    given = vrt.relative_to(tmp_path.parent) if relative else vrt  # GDAL lists a relative VRT's sources relatively
    code, _, err = run(monkeypatch, capsys, "count", given, "--out", tmp_path / "out", "--quiet")
    assert_user_error(code, err, f"refers to {tmp_path / 'gone.tif'}, which is missing", out_dir=tmp_path / "out")


def test_metres_in_a_file_read_as_degrees_are_refused_with_the_cause(tmp_path):
    path = tmp_path / "zones.geojson"
    _zones(tmp_path).to_file(path)  # written with its UTM CRS
    doc = json.loads(path.read_text())
    doc.pop("crs", None)  # as many tools write GeoJSON: no crs member, so WGS84 by RFC 7946
    for f, x in zip(doc["features"], (500000, 500010)):
        f["geometry"]["coordinates"] = [[[x, 4100000], [x + 10, 4100000], [x + 10, 4100010], [x, 4100010],
                                         [x, 4100000]]]
    path.write_text(json.dumps(doc))
    with pytest.raises(GeotallyError, match=r"not degrees: give the file the CRS"):
        read_vector(str(path), "zones file")


def test_geojson_without_a_crs_is_pixel_space_for_a_scene_without_one(tmp_path):
    """A PNG counted with --gsd takes its zones, border and roads as GeoJSON in the scene's metres (GDAL
    reads a GeoJSON that names no CRS as WGS84, by the standard, and geotally refused it as
    georeferenced); a GeoJSON that names a CRS is still refused."""
    from geotally.roads.load import load_roads
    from geotally.zones.border import load_border
    from geotally.zones.load import load_zones

    bounds = (0.0, -60.0, 90.0, 0.0)  # a 300 x 200 px PNG at 0.3 m: y runs down from 0
    def fc(*features):
        return json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": p, "geometry": g} for p, g in features]})
    (tmp_path / "z.geojson").write_text(fc(({"name": "A"}, {"type": "Polygon", "coordinates": [
        [[0, 0], [45, 0], [45, -60], [0, -60], [0, 0]]]})))
    (tmp_path / "b.geojson").write_text(fc(({}, {"type": "LineString", "coordinates": [[45, 1], [45, -61]]})))
    (tmp_path / "r.geojson").write_text(fc(({"highway": "primary"}, {"type": "LineString",
                                                                       "coordinates": [[0, -30], [90, -30]]})))
    zones = load_zones(str(tmp_path / "z.geojson"), None, bounds)
    assert zones.names.tolist() == ["A"] and shapely.area(zones.polygons[0]) == pytest.approx(45 * 60)
    assert load_border(str(tmp_path / "b.geojson"), None, bounds).zones.names.tolist() == ["left", "right"]
    assert len(load_roads(str(tmp_path / "r.geojson"), None, bounds).lines) == 1
    named = json.loads((tmp_path / "z.geojson").read_text())
    named["crs"] = {"type": "name", "properties": {"name": "EPSG:32638"}}
    (tmp_path / "z.geojson").write_text(json.dumps(named))
    with pytest.raises(GeotallyError, match="georeferenced but the scene is not"):
        load_zones(str(tmp_path / "z.geojson"), None, bounds)


def test_a_geopackage_of_layers_gives_its_roads_layer(tmp_path):
    from pyproj import CRS

    from geotally.roads.load import load_roads

    path = tmp_path / "map.gpkg"
    line = shapely.LineString([(500000, 4100030), (500090, 4100030)])
    gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[line], crs=32638).to_file(path, layer="roads")
    gpd.GeoDataFrame({"name": ["A"]}, geometry=[line.buffer(5)], crs=32638).to_file(path, layer="zones")
    roads = load_roads(str(path), CRS.from_epsg(32638), (500000, 4100000, 500090, 4100060))
    assert len(roads.lines) == 1


@pytest.mark.parametrize("names, field, fragment", [
    (["A", "A "], "name", "zone name 'A' is used by 2 features"),  # print alike: one name
    (["\u0130zmir", "I\u0307zmir"], "name", "is used by 2 features"),  # İ composed and decomposed
    (["A", "B"], "geometry", "holds the zones' shapes, not their names"),
    (None, "name", "has shapes but no fields"),
])
def test_zone_names_that_print_alike_and_fields_that_are_not_names(tmp_path, names, field, fragment):
    from pyproj import CRS

    from geotally.zones.load import load_zones

    gdf = _zones(tmp_path)
    gdf = gdf.assign(name=names) if names else gdf[["geometry"]]
    gdf.to_file(tmp_path / "z.gpkg")
    with pytest.raises(GeotallyError, match=fragment):
        load_zones(str(tmp_path / "z.gpkg"), CRS.from_epsg(32638), (0, 0, 20, 10), field=field)
