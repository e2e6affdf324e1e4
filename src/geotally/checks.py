"""Everything about a count that can be checked before the scene is read or a tile runs.

Each check raises a one-line GeotallyError that names the option and says what to fix.
"""

from __future__ import annotations

import math

from geotally.analysis.sizes import DEFAULT_THRESHOLDS
from geotally.errors import GeotallyError
from geotally.limits import check_count_options
from geotally.models.classes import VEHICLE_CLASSES
from geotally.models.registry import DEFAULT_MODEL, get_spec
from geotally.store.outputs import check_out_dir
from geotally.thresholds import conf_thresholds
from geotally.zones.assign import OUTSIDE
from geotally.zones.load import Zones

DEFAULT_OVERLAP = 160
DEFAULT_BATCH = 4


def _model_conf(model: str | None, weights) -> dict | None:
    return get_spec(model or DEFAULT_MODEL).conf if weights is None else None


def check_run_options(*, conf=None, model=None, weights=None, gsd=None, model_gsd=None, tile_size=None,
                      overlap=DEFAULT_OVERLAP, batch=DEFAULT_BATCH, threads=None,
                      size_thresholds=DEFAULT_THRESHOLDS, queue=None, distance_bands=None, border=None,
                      sides=None, workers=1, out=None, basemap=None, dask=None, road=None, roads=None,
                      route=None, on_road_only=False) -> None:
    """Every option of a count that can be checked without the scene, in one place, before any work."""
    check_count_options(gsd=gsd, model_gsd=model_gsd, tile_size=tile_size, overlap=overlap, batch=batch,
                        threads=threads, size_thresholds=size_thresholds, queue=queue,
                        distance_bands=distance_bands, workers=workers)
    if distance_bands and border is None:
        raise GeotallyError("--distance-bands measures distance to a border; give --border too")
    if sides is not None and border is None:
        raise GeotallyError("--sides names the sides of a border; give --border too")
    if sides is not None and sides[0] == sides[1]:
        raise GeotallyError(f"--sides needs two different names, got {sides[0]!r} twice")
    conf_thresholds(conf if conf is not None else _model_conf(model, weights))
    if road is not None and road.distance_m is not None:
        d = road.distance_m
        if not (isinstance(d, (int, float)) and math.isfinite(d) and 0.1 <= d <= 1000):
            raise GeotallyError(f"--road-distance must be metres between 0.1 and 1000, got {d}")
        if roads is None:
            raise GeotallyError("--road-distance says how near a road counts as on it; give --roads too")
    if on_road_only and roads is None:
        raise GeotallyError("--on-road-only counts what lies on the roads; give --roads too")
    if route is not None:
        from geotally.roads.route import parse_waypoints

        if roads is None:
            raise GeotallyError("--route is planned over the road network; give --roads too")
        parse_waypoints(route)
    if dask:
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise GeotallyError("--dask needs Dask's distributed scheduler: pip install 'geotally[dask]'")
    if out is not None:
        check_out_dir(out)
    if basemap:
        from geotally.report.html import basemap_origin

        basemap_origin(basemap)


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
