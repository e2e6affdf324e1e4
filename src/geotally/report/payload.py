"""What the report's map needs, in scene pixel coordinates and compact arrays."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import shapely
from rasterio.windows import Window

from geotally.geo.rings import pixel_rings
from geotally.geo.transform import map_to_pixel
from geotally.imagery.crops import read_windows
from geotally.imagery.dates import run_dates
from geotally.imagery.preview import PREVIEW_MAX, PreviewFrame, read_shrunk
from geotally.imagery.read import open_reader
from geotally.imagery.scene import Scene

CLASS_COLOURS = {"large_vehicle": "#ff7f0e", "small_vehicle": "#1f77b4"}
OTHER_COLOUR = "#bbbbbb"
TYPE_COLOURS = {"tanker": "#d62728", "box": "#f7f7f7", "flatbed_or_container": "#8c564b", "bus": "#ffd92f",
                "other": "#9467bd", "unknown": "#7f7f7f"}
MAX_CROPS = 1500  # native-resolution crops embedded in the report (large vehicles first, then by score)
CROP_PX = (32, 160)  # a crop's side in scene pixels: 1.6 vehicle lengths, within these bounds


def crops(scene: Scene, centres_px: np.ndarray, length_px: np.ndarray, order: np.ndarray,
          limit: int = MAX_CROPS) -> dict[int, str]:
    """JPEG data URIs of native-resolution crops around the detections ``order`` names first
    (at most ``limit``), keyed by detection index: what the report shows for a selected vehicle."""
    out: dict[int, str] = {}
    if not len(order):
        return out
    pick = np.asarray(order[:limit])
    side = np.clip(np.ceil(1.6 * np.asarray(length_px, float)[pick]), *CROP_PX).astype(np.int64)
    c0 = np.clip(np.round(centres_px[pick, 0] - side / 2), 0, np.maximum(scene.width - side, 0)).astype(np.int64)
    r0 = np.clip(np.round(centres_px[pick, 1] - side / 2), 0, np.maximum(scene.height - side, 0)).astype(np.int64)
    windows = np.column_stack([c0, r0, np.minimum(c0 + side, scene.width), np.minimum(r0 + side, scene.height)])
    uri: dict[int, str] = {}
    with open_reader(scene) as src:  # one read per block of detections, not one per detection
        for k, rgb in read_windows(src, scene, windows):
            ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 82])
            if ok:
                uri[int(pick[k])] = "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode()
    # in the order they were always listed (top to bottom), so the report is the same file
    for i in pick[np.argsort(centres_px[pick, 1], kind="stable")]:
        if int(i) in uri:
            out[int(i)] = uri[int(i)]
    return out


def _grid_lonlat(scene: Scene, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """An n x n grid over the scene: its pixels and their (lon, lat)."""
    from geotally.geo.transform import map_to_wgs84, pixel_to_map

    g = np.linspace(0, 1, n)
    px = np.array([[x * scene.width, y * scene.height] for x in g for y in g], float)
    return px, map_to_wgs84(scene.crs, pixel_to_map(scene.transform, px))


def _fit_affine(src: np.ndarray, dst: np.ndarray) -> tuple[list[float], np.ndarray]:
    """Least-squares affine from ``src`` to ``dst`` points as [a, b, c, d, e, f] (x' = a x + b y + c,
    y' = d x + e y + f), and the fitted points."""
    a = np.column_stack([src, np.ones(len(src))])
    coef, *_ = np.linalg.lstsq(a, dst, rcond=None)
    return coef.T.reshape(-1).tolist(), a @ coef


def pixel_to_lonlat_affine(scene: Scene) -> tuple[list[float] | None, float | None]:
    """Least-squares affine from scene pixels to (lon, lat) over a 5 x 5 grid, and its worst error in
    metres on that grid: the report's click readout (the error is printed with it)."""
    if scene.crs is None:
        return None, None
    from pyproj import CRS

    from geotally.geo.metric import local_metric_crs, to_metric
    from geotally.geo.transform import scene_centre_lonlat

    px, ll = _grid_lonlat(scene)
    coef, fit = _fit_affine(px, ll)
    metric = local_metric_crs(scene.crs, scene_centre_lonlat(scene.transform, scene.width, scene.height, scene.crs))
    wgs = CRS.from_epsg(4326)
    err = np.hypot(*(to_metric(fit, wgs, metric) - to_metric(ll, wgs, metric)).T).max()
    return coef, float(err)


def quicklook(scene: Scene, preview: np.ndarray | None = None, max_side: int = PREVIEW_MAX) -> tuple[str, int, int]:
    """A downsampled JPEG of the scene as a data URI, and its size.

    ``preview`` is the picture pieced together during detection; without one the scene is
    read again, averaged down (slow for very large scenes without overviews).
    """
    if preview is not None:
        rgb = preview
        h, w = rgb.shape[:2]
    else:
        frame = PreviewFrame.for_scene(scene.width, scene.height, max_side)
        w, h = frame.width, frame.height
        with open_reader(scene) as src:
            rgb = read_shrunk(src, scene, Window(0, 0, scene.width, scene.height), w, h)
    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 80])
    return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode(), w, h


def payload(result, heat_cells: int = 64) -> dict:
    """Map data: footprints (8 numbers each), per-vehicle attributes, zones, border, queues, heatmap."""
    sc = result.scene
    det = result.detections
    coords = shapely.get_coordinates(np.asarray(det.geometry.values, dtype=object)).reshape(len(det), 5, 2)[:, :4] \
        if len(det) else np.zeros((0, 4, 2))
    px = map_to_pixel(sc.transform, coords)
    classes = list(dict.fromkeys(det["class"].tolist())) if len(det) else []
    det_dates = det["date"].fillna("").astype(str).tolist() if "date" in det else [""] * len(det)
    dates = [d or "" for d in run_dates(det_dates + [sc_.date for sc_ in result.summary.scenes])]
    zones = list(dict.fromkeys(det["zone"].tolist())) if len(det) else []
    centres = px.mean(axis=1) if len(det) else np.zeros((0, 2))
    cell = max(sc.width, sc.height) / heat_cells
    gw, gh = int(np.ceil(sc.width / cell)), int(np.ceil(sc.height / cell))
    heat, _, _ = np.histogram2d(centres[:, 1], centres[:, 0], bins=[gh, gw], range=[[0, gh * cell], [0, gw * cell]])
    affine, affine_err = pixel_to_lonlat_affine(sc)
    data = {
        "width": sc.width, "height": sc.height, "gsd_m": sc.gsd_m,
        "px_to_lonlat": affine, "px_to_lonlat_err_m": affine_err,
        "ids": det["det_id"].astype(str).tolist() if len(det) and "det_id" in det else [str(i + 1) for i in range(len(det))],
        "xy": np.round(px.reshape(-1), 1).tolist(),
        "cls": [classes.index(c) for c in det["class"]] if len(det) else [],
        "classes": classes,
        "colours": [CLASS_COLOURS.get(c, OTHER_COLOUR) for c in classes],
        # floored, not rounded: the score filter must never show a detection under its threshold
        "score": (np.floor(det["score"].to_numpy(float) * 1000) / 1000).tolist() if len(det) else [],
        "length": det["length_m"].round(1).tolist() if len(det) else [],
        "zone": [zones.index(z) for z in det["zone"]] if len(det) else [],
        "zones_of_vehicles": zones,
        "queue": det["queue_id"].astype(int).tolist() if len(det) and "queue_id" in det else [],
        "type_names": list(TYPE_COLOURS), "type_colours": list(TYPE_COLOURS.values()),
        "ttype": ([list(TYPE_COLOURS).index(t) if t in TYPE_COLOURS else -1 for t in det["trailer_type"].fillna("")]
                  if len(det) and "trailer_type" in det else [-1] * len(det)),
        "tscore": (det["trailer_type_score"].round(2).tolist() if len(det) and "trailer_type_score" in det
                   else [None] * len(det)),
        "dates": dates,
        "date": [dates.index(d) for d in det_dates] if len(det) else [],
        "zone_polygons": [], "zone_names": [], "zone_labels": [], "border": [], "queues": [],
        "heat": {"cell": cell, "w": gw, "h": gh, "counts": heat.astype(int).reshape(-1).tolist()},
    }
    if result.zones is not None:
        clipped = shapely.intersection(np.asarray(result.zones.polygons, dtype=object), _scene_box(sc))
        empty = shapely.is_empty(clipped)
        where = shapely.point_on_surface(np.where(empty, _scene_box(sc), clipped))  # one point per zone
        inner = map_to_pixel(sc.transform, shapely.get_coordinates(where))
        for name, poly, at, empty in zip(result.zones.names, clipped, inner, empty):
            for ring in pixel_rings(sc.transform, np.array([poly], dtype=object)):
                data["zone_polygons"].append(ring)
                data["zone_names"].append(str(name))
            if not empty:
                data["zone_labels"].append([round(float(at[0]), 1), round(float(at[1]), 1), str(name)])
    if result.summary.border and result.border_line is not None:
        data["border"] = pixel_rings(sc.transform, np.array([result.border_line], dtype=object))
    data["queue_dates"] = []
    if result.queues is not None and len(result.queues):
        data["queues"] = pixel_rings(sc.transform, np.asarray(result.queues.geometry.values, dtype=object))
        qd = result.queues["date"].fillna("").astype(str).tolist() if "date" in result.queues else [""] * len(result.queues)
        data["queue_dates"] = [dates.index(d) if d in dates else -1 for d in qd]
    data["roads"], data["road_colours"], data["route"] = [], [], []
    roads = getattr(result, "roads", None)
    if roads is not None and len(roads):
        per_km = _per_km(result.tables.get("counts_by_road.csv"), roads["road_id"].to_numpy())
        for geom, v in zip(roads.geometry.values, per_km):
            for line in pixel_rings(sc.transform, np.array([geom], dtype=object)):
                data["roads"].append(line)
                data["road_colours"].append(road_colour(v))
    route = getattr(result, "route", None)
    if route is not None and len(route):
        first = route.drop_duplicates("stretch")
        data["route"] = pixel_rings(sc.transform, np.asarray(first.geometry.values, dtype=object))
    return data


# Vehicles per km of road: the colour classes of the report's road layer (upper bounds, last open).
ROAD_CLASSES = ((0.0, "#9e9e9e"), (5.0, "#ffe082"), (20.0, "#ffb300"), (50.0, "#f4511e"), (float("inf"), "#b71c1c"))


def road_colour(per_km: float) -> str:
    """The colour of a road segment with ``per_km`` vehicles per km (grey: none)."""
    for bound, colour in ROAD_CLASSES:
        if per_km <= bound:
            return colour
    return ROAD_CLASSES[-1][1]


def _per_km(table, road_ids: np.ndarray) -> np.ndarray:
    """Each segment's vehicles per km, the highest over the run's dates."""
    if table is None or not len(table):
        return np.zeros(len(road_ids))
    seg = table[table["level"] == "segment"]
    best = seg.groupby("road_id")["per_km"].max()
    return best.reindex(road_ids).fillna(0).to_numpy(float)


def _scene_box(sc: Scene):
    from geotally.geo.transform import scene_corners

    return shapely.Polygon(scene_corners(sc.transform, sc.width, sc.height))


def basemap_affine(scene: Scene) -> list[float] | None:
    """Least-squares affine from (lon, lat) to scene pixels over a 5 x 5 grid, for placing web map
    tiles: [a, b, c, d, e, f] with col = a lon + b lat + c, row = d lon + e lat + f."""
    if scene.crs is None:
        return None
    px, ll = _grid_lonlat(scene)
    return _fit_affine(ll, px)[0]
