"""Every option of a count and its default, declared once: ``geotally.count``, ``count_scenes``,
``recount`` and the CLI all read them from :class:`CountConfig`.

The parameters of single steps keep their own typed configs (``QueueParams``, ``RoadParams``,
``RouteParams``, ``TrailerParams``, ``StationaryParams``), which a ``CountConfig`` holds as they are.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace

from geotally.analysis.queues import QueueParams
from geotally.analysis.sizes import DEFAULT_THRESHOLDS
from geotally.analysis.stationary import StationaryParams
from geotally.detect.trailer_types import TrailerParams
from geotally.roads.config import RoadParams, RouteParams

PathLike = str | os.PathLike


@dataclass(frozen=True)
class CountConfig:
    """What a count is asked to do (the scenes and the output folder are given beside it)."""

    # Zones, border and roads
    zones: PathLike | None = None
    zone_field: str = "name"
    border: PathLike | None = None
    sides: tuple[str, str] | None = None
    roads: PathLike | None = None
    road: RoadParams = field(default_factory=RoadParams)
    route: str | None = None  # 'LON,LAT;LON,LAT[;...]'
    route_params: RouteParams = field(default_factory=RouteParams)
    on_road_only: bool = False
    # Detection
    model: str | None = None  # None: the registry's default model
    weights: PathLike | None = None
    conf: float | dict[str, float] | None = None  # None: the model's own per-class thresholds
    model_iou: float = 0.7
    seam_iou: float = 0.3
    tile_size: int | None = None  # None: the model's
    overlap: int = 160  # model pixels; longer than a truck
    batch: int = 4
    model_gsd: float | None = None  # None: the model's declared GSD
    gsd: float | None = None  # None: from the georeference
    bands: tuple[int, ...] | None = None
    threads: int | None = None
    backend: str = "auto"
    workers: int = 1
    dask: str | None = None
    fresh: bool = False
    # Analysis
    distance_bands: tuple[float, ...] | None = None
    size_thresholds: tuple[float, float, float] = DEFAULT_THRESHOLDS
    queue: QueueParams = field(default_factory=QueueParams)
    stationary: StationaryParams = field(default_factory=StationaryParams)  # same spot on two dates
    trailer: TrailerParams = field(default_factory=TrailerParams)
    # Calibration and claims
    calibration: object | None = None  # a file from 'geotally calibrate', or a loaded calibration
    claim: dict[str, float] | None = None
    claim_class: str = "large_vehicle"
    # Outputs
    export: tuple[str, ...] = ()
    basemap: str | None = None
    # Dates
    date: str | None = None  # every scene without a date of its own
    date_pattern: str | None = None

    @classmethod
    def of(cls, config: CountConfig | None = None, **options) -> CountConfig:
        """``config`` (or the defaults) with ``options`` changed (an unknown option is a TypeError, as
        for any Python call)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"count() got an unexpected option {unknown[0]!r}; options: {', '.join(sorted(known))}")
        return replace(config or cls(), **options)
