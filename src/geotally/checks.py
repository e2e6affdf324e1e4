"""Everything about a count that can be checked before the scene is read or a tile runs.

Each check raises a one-line GeotallyError that names the option and says what to fix.
"""

from __future__ import annotations

import math

from geotally.config import CountConfig
from geotally.errors import GeotallyError
from geotally.limits import check_count_options
from geotally.models.classes import VEHICLE_CLASSES
from geotally.models.registry import DEFAULT_MODEL, get_spec
from geotally.store.outputs import check_out_dir
from geotally.thresholds import conf_thresholds
from geotally.zones.assign import OUTSIDE
from geotally.zones.load import Zones


def model_conf(model: str | None, weights) -> dict | None:
    """The registered model's own per-class thresholds (None for local weights: the defaults)."""
    return get_spec(model or DEFAULT_MODEL).conf if weights is None else None


def check_run_options(cfg: CountConfig, out=None) -> None:
    """Every option of a count that can be checked without the scene, in one place, before any work."""
    check_count_options(gsd=cfg.gsd, model_gsd=cfg.model_gsd, tile_size=cfg.tile_size, overlap=cfg.overlap,
                        batch=cfg.batch, threads=cfg.threads, size_thresholds=cfg.size_thresholds, queue=cfg.queue,
                        distance_bands=cfg.distance_bands, workers=cfg.workers, stationary=cfg.stationary)
    if cfg.distance_bands and cfg.border is None:
        raise GeotallyError("--distance-bands measures distance to a border; give --border too")
    if cfg.sides is not None and cfg.border is None:
        raise GeotallyError("--sides names the sides of a border; give --border too")
    if cfg.sides is not None and cfg.sides[0] == cfg.sides[1]:
        raise GeotallyError(f"--sides needs two different names, got {cfg.sides[0]!r} twice")
    conf_thresholds(cfg.conf if cfg.conf is not None else model_conf(cfg.model, cfg.weights))
    if cfg.road is not None and cfg.road.distance_m is not None:
        d = cfg.road.distance_m
        if not (isinstance(d, (int, float)) and math.isfinite(d) and 0.1 <= d <= 1000):
            raise GeotallyError(f"--road-distance must be metres between 0.1 and 1000, got {d}")
        if cfg.roads is None:
            raise GeotallyError("--road-distance says how near a road counts as on it; give --roads too")
    if cfg.on_road_only and cfg.roads is None:
        raise GeotallyError("--on-road-only counts what lies on the roads; give --roads too")
    if cfg.route is not None:
        from geotally.roads.route import parse_waypoints

        if cfg.roads is None:
            raise GeotallyError("--route is planned over the road network; give --roads too")
        parse_waypoints(cfg.route)
    if cfg.dask:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise GeotallyError("--dask needs Dask's distributed scheduler: pip install 'geotally[dask]'")
    if out is not None:
        check_out_dir(out)
    if cfg.basemap:
        from geotally.report.html import basemap_origin

        basemap_origin(cfg.basemap)


def check_claim(claim: dict[str, float], claim_class: str, zone_set: Zones | None) -> None:
    """A claim must name zones of this run (or ALL) and a vehicle class: else it could only be 'not found'."""
    from geotally.models.trailers import TRAILER_TYPES

    if claim_class not in (*VEHICLE_CLASSES, *TRAILER_TYPES):
        raise GeotallyError(f"--claim-class must be one of {', '.join((*VEHICLE_CLASSES, *TRAILER_TYPES))}, "
                            f"got {claim_class!r}")
    known = set(zone_set.names.tolist()) if zone_set is not None else set()
    unknown = [z for z in claim if z not in known | {"ALL", OUTSIDE}]
    if unknown:
        have = ", ".join(sorted(known)) or "none (give --zones or --border)"
        raise GeotallyError(f"--claim names zone {unknown[0]!r}, which is not a zone of this run; zones: {have}, ALL")
