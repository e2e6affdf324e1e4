import numpy as np
import pytest
import shapely
from shapely.geometry import LineString

from geotally.errors import GeotallyError
from geotally.zones.assign import assign_zones
from geotally.zones.border import border_sides, side_of

BOX = (0.0, 0.0, 100.0, 100.0)


def test_line_across_the_scene_splits_left_and_right():
    b = border_sides([LineString([(-1, 50), (101, 50)])], BOX, ("N", "S"))
    assert not b.was_extended
    # walking east, north is on the left
    assert assign_zones(np.array([[10, 90], [10, 10]]), b.zones).tolist() == ["N", "S"]
    assert shapely.area(b.zones.polygons).sum() == pytest.approx(100 * 100)


def test_direction_decides_which_side_is_left():
    b = border_sides([LineString([(101, 50), (-1, 50)])], BOX, ("N", "S"))
    assert assign_zones(np.array([[10, 90]]), b.zones).tolist() == ["S"]


def test_short_line_is_extended_along_its_end_bearings():
    b = border_sides([LineString([(30, 20), (50, 40), (70, 40)])], BOX, ("L", "R"))
    assert b.was_extended
    # the last segment runs east at y=40, so beyond x=70 the split follows y=40
    assert assign_zones(np.array([[95, 45], [95, 35]]), b.zones).tolist() == ["L", "R"]
    # the first segment runs north-east; extended back it reaches the south-west corner region
    assert assign_zones(np.array([[5, 10], [20, 0.5]]), b.zones).tolist() == ["L", "R"]


def test_multi_part_line_is_joined_in_order():
    parts = [LineString([(-1, 30), (40, 30)]), LineString([(40, 30), (60, 70)]), LineString([(60, 70), (101, 70)])]
    b = border_sides(parts, BOX, ("A", "B"))
    assert assign_zones(np.array([[10, 40], [10, 20], [90, 80], [90, 60]]), b.zones).tolist() == ["A", "B", "A", "B"]
    gapped = [LineString([(-1, 30), (40, 30)]), LineString([(45, 35), (101, 35)])]
    g = border_sides(gapped, BOX, ("A", "B"))
    assert assign_zones(np.array([[90, 40], [90, 32]]), g.zones).tolist() == ["A", "B"]


def test_vehicle_exactly_on_the_line_counts_left():
    b = border_sides([LineString([(-1, 50), (101, 50)])], BOX, ("N", "S"))
    assert assign_zones(np.array([[25.0, 50.0]]), b.zones).tolist() == ["N"]


def test_line_away_from_the_scene_is_an_error():
    with pytest.raises(GeotallyError, match="does not touch"):
        border_sides([LineString([(200, 0), (300, 100)])], BOX, ("A", "B"))


def test_side_of_points():
    line = LineString([(0, 0), (10, 0)])
    assert side_of(line, np.array([[5, 1], [5, -1], [5, 0]])).tolist() == [1, -1, 0]


@pytest.mark.parametrize("parts", [
    [[(-1, 30), (40, 30)], [(101, 35), (45, 35)]],  # the second part drawn the other way
    [[(45, 35), (70, 35)], [(-1, 30), (40, 30)], [(75, 35), (101, 35)]],  # listed middle, west, east
    [[(45, 35), (70, 35)], [(101, 35), (75, 35)], [(40, 30), (-1, 30)]],  # and turned
])
def test_parts_with_gaps_are_chained_by_their_nearest_ends(parts):
    """A border in pieces with gaps between them, listed in any order and drawn either way, is one
    line from west to east: the first piece's direction (west to east here) names the sides. Joined
    in file order it zigzagged, and every vehicle fell on one side."""
    b = border_sides([LineString(p) for p in parts], BOX, ("N", "S"))
    pts = np.array([[10, 60], [10, 5], [55, 60], [55, 5], [90, 60], [90, 5]])
    assert assign_zones(pts, b.zones).tolist() == ["N", "S"] * 3
    assert b.line.is_simple


def test_a_border_with_heights_and_sides_on_any_feature(tmp_path):
    """A border drawn in Google Earth (KML with heights) splits the scene as the flat line does; the
    sides' names come from whichever features give them, and must agree."""
    import geopandas as gpd
    from shapely.geometry import LineString as L

    from geotally.zones.border import load_border

    path = tmp_path / "border.geojson"
    gpd.GeoDataFrame({"Left": [None, "TR"], "Right": [None, "IQ"]},
                     geometry=[L([(-1, 50, 0), (50, 50, 0)]), L([(50, 50, 0), (101, 50, 12)])]).to_file(path)
    b = load_border(str(path), None, BOX)
    assert b.names == ("TR", "IQ")
    assert assign_zones(np.array([[10, 90], [10, 10]]), b.zones).tolist() == ["TR", "IQ"]
    gpd.GeoDataFrame({"left": ["TR", "IQ"], "right": ["IQ", "TR"]},
                     geometry=[L([(-1, 50), (50, 50)]), L([(50, 50), (101, 50)])]).to_file(path)
    with pytest.raises(GeotallyError, match="left and right properties disagree"):
        load_border(str(path), None, BOX)
    gpd.GeoDataFrame({"left": ["TR"], "right": [None]}, geometry=[L([(-1, 50), (101, 50)])]).to_file(path)
    with pytest.raises(GeotallyError, match="name one side only"):
        load_border(str(path), None, BOX)
    gpd.GeoDataFrame({"left": [None], "right": [None]}, geometry=[L([(-1, 50), (101, 50)])]).to_file(path)
    assert load_border(str(path), None, BOX).names == ("left", "right")  # fields there, empty: the defaults
