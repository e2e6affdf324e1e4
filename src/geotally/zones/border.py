"""A border line splits the scene into two sides.

Sides are named by the line's direction: walking from its first vertex to its last,
the *left* side is the first name (``--sides "TR,IQ"``: TR is left, IQ right), or the
line's ``left``/``right`` properties. A line that stops short of the scene edge is
extended along its end bearings, and the result says so. Several segments are joined
into one chain: merged where they touch, and across gaps each next to the nearest free
end, turned to continue the chain; the first segment in the file keeps its direction,
which names the sides. A vehicle whose centre lies exactly on the line counts on the
left side (the left polygon comes first, and the first zone that covers a centre wins).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import LineString, box
from shapely.ops import split

from geotally.errors import GeotallyError
from geotally.imagery.offline import is_osm, osm_tag
from geotally.zones.load import NO_CRS, RESERVED, Zones, log, read_vector


@dataclass(frozen=True)
class Border:
    line: LineString  # as drawn (joined), scene CRS
    extended: LineString  # reaching past the scene edge
    was_extended: bool
    names: tuple[str, str]  # (left, right)
    zones: Zones  # the two sides as zones, left first
    source: str


def _join(lines: list[LineString]) -> LineString:
    """One line from several: merged where they touch; across gaps a chain from the first segment,
    each next piece the one whose end is nearest either end of the chain, turned to continue it.
    The first segment keeps its direction (it names the sides)."""
    merged = shapely.line_merge(shapely.MultiLineString(lines)) if len(lines) > 1 else lines[0]
    parts = list(merged.geoms) if hasattr(merged, "geoms") else [merged]
    if len(parts) == 1:
        return _along(parts[0], lines[0])
    first = int(np.argmax([p.intersects(lines[0]) for p in parts]))
    chain = [np.asarray(_along(parts[first], lines[0]).coords)]
    rest = [np.asarray(p.coords) for k, p in enumerate(parts) if k != first]
    while rest:
        head, tail = chain[0][0], chain[-1][-1]
        ends = np.array([[r[0], r[-1]] for r in rest])  # (n, 2 ends, 2)
        gaps = np.stack([np.hypot(*(ends - tail).transpose(2, 0, 1)), np.hypot(*(ends - head).transpose(2, 0, 1))])
        at, k, end = np.unravel_index(np.argmin(gaps), gaps.shape)  # chain end (tail, head), piece, its end
        piece = rest.pop(k)
        if at == 0:  # after the tail, starting at its nearest end
            chain.append(piece if end == 0 else piece[::-1])
        else:  # before the head, ending at its nearest end
            chain.insert(0, piece if end == 1 else piece[::-1])
    return LineString(np.vstack(chain))


def _along(line: LineString, first: LineString) -> LineString:
    """``line`` drawn the way ``first`` (a segment of it) is drawn."""
    a, b = line.project(shapely.Point(first.coords[0])), line.project(shapely.Point(first.coords[-1]))
    return line if a <= b else shapely.reverse(line)


def _extend(line: LineString, reach: float) -> LineString:
    c = np.asarray(line.coords)
    head = c[0] + (c[0] - c[1]) / np.linalg.norm(c[0] - c[1]) * reach
    tail = c[-1] + (c[-1] - c[-2]) / np.linalg.norm(c[-1] - c[-2]) * reach
    return LineString(np.vstack([head, c, tail]))


def side_of(line: LineString, points: np.ndarray) -> np.ndarray:
    """+1 left, -1 right (0 on the line) of the nearest segment, looking along the line."""
    c = np.asarray(line.coords)
    a, b = c[:-1], c[1:]
    p = np.asarray(points, float)[:, None, :]
    ab = b - a
    t = np.clip(((p - a) * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    nearest = a + t[..., None] * ab
    seg = np.argmin(((p - nearest) ** 2).sum(-1), axis=1)
    abn = ab[seg]
    rel = points - a[seg]
    return np.sign(abn[:, 0] * rel[:, 1] - abn[:, 1] * rel[:, 0])


def border_sides(lines: list[LineString], scene_bounds: tuple[float, float, float, float],
                 names: tuple[str, str], source: str = "") -> Border:
    """Split the scene box into the left and right sides of the (extended) border line."""
    if names[0] == names[1]:
        raise GeotallyError(f"the two sides of border {source} need different names, got {names[0]!r} twice "
                            "(set --sides LEFT,RIGHT)")
    if any(n in RESERVED for n in names):
        raise GeotallyError(f"side names {', '.join(RESERVED)} are reserved for the counts table; set --sides")
    line = shapely.remove_repeated_points(_join(lines))
    scene = box(*scene_bounds)
    if not line.intersects(scene.buffer(1e-9)):
        raise GeotallyError(f"border line {source} does not touch the scene")
    diag = float(np.hypot(scene_bounds[2] - scene_bounds[0], scene_bounds[3] - scene_bounds[1]))
    (x0, y0), (x1, y1) = line.coords[0], line.coords[-1]
    ends_inside = scene.contains(shapely.Point(x0, y0)) or scene.contains(shapely.Point(x1, y1))
    extended = _extend(line, 2 * diag) if ends_inside else line
    pieces = [g for g in split(scene, extended).geoms if g.area > 0]
    if len(pieces) < 2:
        raise GeotallyError(f"border line {source} does not divide the scene in two, even extended")
    reps = np.array([g.representative_point().coords[0] for g in pieces])
    sign = side_of(extended, reps)
    left = shapely.union_all([g for g, s in zip(pieces, sign) if s > 0])
    right = shapely.union_all([g for g, s in zip(pieces, sign) if s <= 0])
    zones = Zones(names=np.array(list(names)), polygons=np.array([left, right], dtype=object),
                  source=source, field="side")
    return Border(line, extended, bool(ends_inside), names, zones, source)


def load_border(path: str, scene_crs: CRS | None, scene_bounds: tuple[float, float, float, float],
                sides: tuple[str, str] | None = None) -> Border:
    """Read a LineString/MultiLineString file in any CRS and split the scene by it."""
    gdf = read_vector(path, "border file", pixel_space=scene_crs is None)
    if is_osm(path):
        gdf = _osm_boundaries(gdf, path)
    if gdf.empty:
        raise GeotallyError(f"border file {path} has no line features")
    kinds = set(gdf.geometry.geom_type)
    if not kinds <= {"LineString", "MultiLineString"}:
        raise GeotallyError(f"border file {path} must hold lines; found {', '.join(sorted(kinds))}")
    assumed = gdf.crs is None and scene_crs is not None
    if gdf.crs is not None and scene_crs is not None:
        gdf = gdf.to_crs(scene_crs)
    elif gdf.crs is not None:  # as zones and roads: a map's coordinates cannot be placed on a picture
        raise GeotallyError(f"border file {path} is georeferenced but the scene is not; give the border in "
                            "pixel-space metres without a CRS")
    parts = shapely.force_2d(shapely.get_parts(np.asarray(gdf.geometry.values, dtype=object)))  # KML's heights
    parts = shapely.remove_repeated_points(parts)  # a vertex given twice has no direction to extend along
    bad = (shapely.get_num_coordinates(parts) < 2) | (shapely.length(parts) <= 0)
    if bad.all():
        raise GeotallyError(f"border file {path} has no line with two distinct vertices; draw the border as a line")
    parts = parts[~bad]
    if is_osm(path):  # an extract's other borders, far off, would be chained into this one
        parts = parts[shapely.intersects(parts, box(*scene_bounds))]
        if not len(parts):
            raise GeotallyError(f"border file {path}: none of its administrative boundaries crosses the scene")
    lines: list[LineString] = list(parts)
    if sides is None:
        sides = _named_sides(gdf, path)
    if assumed and not any(shapely.intersects(lines, box(*scene_bounds).buffer(1e-9))):
        raise GeotallyError(f"border line {path} does not touch the scene{NO_CRS}")
    return border_sides(lines, scene_bounds, sides, source=str(path))


def _osm_boundaries(gdf, path: str):
    """An OpenStreetMap extract's border: its ways tagged boundary=administrative, of the lowest
    admin_level among them (2 is between countries). Ways carry no side names: the sides are
    "left" and "right" of each way's drawn direction unless --sides names them."""
    import pandas as pd

    tags = gdf["other_tags"] if "other_tags" in gdf.columns else pd.Series([""] * len(gdf), index=gdf.index)
    boundary = (osm_tag(tags, "boundary").str.lower() == "administrative").to_numpy()
    if not boundary.any():
        raise GeotallyError(f"border file {path} is an OpenStreetMap extract without ways tagged "
                            "boundary=administrative; give one that has them, or the border as lines in a vector file")
    level = pd.to_numeric(osm_tag(tags, "admin_level"), errors="coerce").to_numpy()
    lowest = np.nanmin(level[boundary]) if np.isfinite(level[boundary]).any() else np.nan
    if lowest != 2:  # said: a district's boundary taken for a country's would pass unnoticed
        log.warning(
            "%s: its lowest administrative boundaries are admin_level %s (2 is between countries); those are the "
            "border", path, f"{lowest:g}" if np.isfinite(lowest) else "unknown")
    return gdf[boundary & ((level == lowest) if np.isfinite(lowest) else True)]


def _named_sides(gdf, path: str) -> tuple[str, str]:
    """The sides' names from the features' ``left`` and ``right`` properties (any case), which must
    agree where given; ``("left", "right")`` where no feature gives them."""
    cols = {c.lower(): c for c in gdf.columns if isinstance(c, str)}
    if "left" not in cols and "right" not in cols:
        return "left", "right"
    pairs = {(_name(a), _name(b)) for a, b in zip(gdf.get(cols.get("left"), [None] * len(gdf)),
                                                  gdf.get(cols.get("right"), [None] * len(gdf)))}
    pairs.discard((None, None))
    if not pairs:  # the fields are there, empty on every feature
        return "left", "right"
    if len(pairs) != 1 or None in next(iter(pairs)):
        raise GeotallyError(f"border file {path}: its features' left and right properties "
                            f"{'disagree' if len(pairs) > 1 else 'name one side only'}; give both names on "
                            "every feature (or none), or set --sides LEFT,RIGHT")
    return next(iter(pairs))


def _name(value) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def border_summary(border: Border | None) -> dict | None:
    """What summary.json says about the border: its file (absolute) and checksum, the sides, and whether
    the line was extended."""
    if border is None:
        return None
    from pathlib import Path

    from geotally.imagery.checksum import file_sha256

    return {"file": str(Path(border.source).resolve()), "sha256": file_sha256(border.source),
            "left_side": border.names[0], "right_side": border.names[1],
            "extended_to_scene_edge": border.was_extended,
            "note": ("The border line does not cross the whole scene; it was extended along its end bearings."
                     if border.was_extended else "The border line crosses the scene."),
            "rule": "left/right looking along the line from its first vertex; a centre on the line counts left"}
