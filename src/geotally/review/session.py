"""A results folder opened for review: its scenes, detections and layers in each scene's pixels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geotally.analysis.sampling import SampleParams, SamplePlan, draw_sample, window_grid
from geotally.errors import GeotallyError
from geotally.geo.transform import map_to_pixel, pixel_to_map, scene_footprint
from geotally.imagery.offline import read_local_vector
from geotally.imagery.scene import Scene, open_scene
from geotally.models.classes import VEHICLE_CLASSES
from geotally.store.summary import RunSummary, read_summary
from geotally.zones.assign import assign_zones
from geotally.zones.border import load_border
from geotally.zones.load import Zones

LAYER_FILES = {"queues": "queues.gpkg", "roads": "roads.gpkg", "route": "route.gpkg"}


@dataclass(frozen=True)
class ReviewScene:
    """One scene of the results, opened without re-hashing it (the check runs in the background)."""

    scene: Scene
    sha256: str  # as recorded by the count
    label: str  # its name in the results (the detections' scene column; RunSummary.scene_labels)


@dataclass(frozen=True)
class ReviewSession:
    """What the review app serves: the folder, its scenes, its vehicle rows and its map layers."""

    folder: Path
    scenes: list[ReviewScene]
    detections: gpd.GeoDataFrame  # the vehicle rows, results CRS, with ``det_id``
    crs: object
    zones: gpd.GeoDataFrame | None
    layers: dict[str, gpd.GeoDataFrame]  # border, queues, roads, route (those present)
    summary: RunSummary

    @property
    def review_path(self) -> Path:
        return self.folder / "review.gpkg"

    def scene_of(self, name: str) -> ReviewScene:
        for s in self.scenes:
            if s.label == name:
                return s
        raise GeotallyError(f"scene {name!r} is not one of this review's scenes; they are "
                            f"{', '.join(s.label for s in self.scenes)}")


def _read(path: Path, what: str) -> gpd.GeoDataFrame:
    try:
        return read_local_vector(path)
    except GeotallyError:
        raise
    except Exception as exc:  # noqa: BLE001 (GDAL raises several kinds)
        raise GeotallyError(f"{path} ({what}) cannot be read: {exc}; count again") from None


def _border_sides(border_file: Path, summary, scenes: list) -> gpd.GeoDataFrame:
    """The two sides of the run's border as zones (name, geometry), as the count drew them over its scenes."""
    crs = scenes[0].scene.crs
    feet = [scene_footprint(rs.scene, crs) for rs in scenes]
    bounds = tuple(float(v) for v in shapely.total_bounds(np.array(feet, dtype=object)))
    names = (summary.border["left_side"], summary.border["right_side"])
    sides = load_border(str(border_file), crs, bounds, names).zones
    return gpd.GeoDataFrame({"name": sides.names.astype(str)}, geometry=list(sides.polygons), crs=crs)


def open_session(folder: str | Path) -> ReviewSession:
    """Open ``folder`` (from 'geotally count') for review; errors say what is missing."""
    folder = Path(folder)
    if not (folder / "summary.json").is_file():
        raise GeotallyError(f"{folder} is not a results folder from 'geotally count' (no summary.json)")
    summary = read_summary(folder)  # its manifest checked: never review an edited or half-written folder
    if not (folder / "detections.gpkg").is_file():
        raise GeotallyError(f"{folder} has no detections.gpkg; count again")
    det = _read(folder / "detections.gpkg", "detections")
    if "det_id" not in det:  # results from before detection ids: number them the way count does now
        det["det_id"] = [f"{Path(s).stem}-{i + 1:05d}" for s, i in zip(det["scene"], det.groupby("scene").cumcount())]
    det = det[det["class"].isin(VEHICLE_CLASSES)].reset_index(drop=True)
    scenes = []
    for rec, label in zip(summary.scenes, summary.scene_labels):
        path = Path(rec.path)
        if not path.is_file():
            raise GeotallyError(f"scene {path} of {folder} is not there any more; put it back to review it")
        bands = tuple(rec.bands_used or []) or None
        gsd = None if rec.georeferenced else float(rec.gsd_m[0])
        scenes.append(ReviewScene(open_scene(path, bands=bands, gsd=gsd, checksum=False), rec.sha256, label))
    if not scenes:
        raise GeotallyError(f"{folder}/summary.json lists no scene")
    zones = None
    zfile = (summary.zones or {}).get("file")
    bfile = (summary.border or {}).get("file")
    if zfile and Path(zfile).is_file() and zfile != bfile:  # the border's file names the zones when its sides are
        zones = _read(Path(zfile), "zones")
        field = summary.zones.get("field", "name")
        zones = zones.assign(name=zones[field].astype(str)) if field in zones else zones.assign(name="zone")
        zones = zones[["name", "geometry"]]
    layers = {}
    if bfile and Path(bfile).is_file():
        layers["border"] = _read(Path(bfile), "border")[["geometry"]]
        if zones is None:  # the border's two sides were the run's zones: the same polygons, made the same way
            zones = _border_sides(Path(bfile), summary, scenes)
    for name, fname in LAYER_FILES.items():
        if (folder / fname).is_file():
            layers[name] = _read(folder / fname, name)
    return ReviewSession(folder, scenes, det, det.crs, zones, layers, summary)


def to_pixels(sc: Scene, geoms: np.ndarray, crs) -> np.ndarray:
    """Geometries (in ``crs``) as the scene's pixel coordinates (column, row)."""
    geoms = np.asarray(geoms, dtype=object)
    if crs is not None and sc.crs is not None and len(geoms):
        geoms = gpd.GeoSeries(geoms, crs=crs).to_crs(sc.crs).to_numpy()
    return shapely.transform(geoms, lambda xy: map_to_pixel(sc.transform, xy))


def from_pixels(sc: Scene, geoms: np.ndarray, crs) -> np.ndarray:
    """Pixel-space geometries back to ``crs``."""
    out = shapely.transform(np.asarray(geoms, dtype=object), lambda xy: pixel_to_map(sc.transform, xy))
    if crs is not None and sc.crs is not None and len(out):
        out = gpd.GeoSeries(out, crs=sc.crs).to_crs(crs).to_numpy()
    return out


def sample_plan(session: ReviewSession, params: SampleParams) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The review sample as review.gpkg's ``sample`` layer (units in review order) and ``strata`` table."""
    if len(session.scenes) != 1:
        raise GeotallyError("--sample reviews one scene: these results hold "
                            f"{len(session.scenes)}; count each scene to its own folder to sample it")
    rs = session.scenes[0]
    sc = rs.scene
    det = session.detections
    centres_px = shapely.get_coordinates(shapely.centroid(to_pixels(sc, det.geometry.to_numpy(), session.crs)))
    side_px = params.window_m / sc.gsd_m
    win_px = window_grid((0.0, 0.0, float(sc.width), float(sc.height)), side_px)
    win_centres = pixel_to_map(sc.transform, np.column_stack([(win_px[:, 0] + win_px[:, 2]) / 2,
                                                             (win_px[:, 1] + win_px[:, 3]) / 2]))
    zone_set = None
    if session.zones is not None:
        z = session.zones.to_crs(sc.crs) if session.zones.crs is not None and sc.crs is not None else session.zones
        zone_set = Zones(z["name"].to_numpy().astype(str), z.geometry.to_numpy(), "", "name")
    plan: SamplePlan = draw_sample(det["class"].to_numpy(), det["zone"].astype(str).to_numpy(),
                                   centres_px.reshape(-1, 2), win_px, assign_zones(win_centres, zone_set), params)
    det_rows = det.iloc[plan.detection_rows]
    win_geoms = from_pixels(sc, shapely.box(*plan.windows.T), session.crs) if len(plan.windows) else np.array([])
    units = pd.concat([
        pd.DataFrame({"unit_id": det_rows["det_id"].to_numpy(), "unit": "detection",
                      "stratum": plan.detection_strata, "geometry": det_rows.geometry.to_numpy()}),
        pd.DataFrame({"unit_id": [f"window-{i + 1:04d}" for i in range(len(plan.windows))], "unit": "window",
                      "stratum": plan.window_strata, "geometry": win_geoms}),
    ], ignore_index=True)
    units["order"] = np.arange(len(units))
    units["scene"] = rs.label
    meta = plan.strata.assign(seed=params.seed, window_m=params.window_m)
    return gpd.GeoDataFrame(units, geometry="geometry", crs=session.crs), meta
