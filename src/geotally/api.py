"""The Python API: ``geotally.count`` and ``geotally.count_scenes``, and the result they return.
The CLI is a thin layer over it; every option and its default is declared once, in
:class:`geotally.config.CountConfig`, and the run itself is :mod:`geotally.pipeline`."""

from __future__ import annotations

import os
from typing import Callable

from geotally.config import CountConfig
from geotally.pipeline.run import run_count
from geotally.result import CountResult

__all__ = ["count", "count_scenes", "CountResult", "CountConfig"]


def count_scenes(inputs: list[str | os.PathLike], *, out: str | os.PathLike | None = None,
                 config: CountConfig | None = None, progress: Callable[..., None] | None = None,
                 say: Callable[[str], None] = lambda msg: None, models: dict | None = None,
                 **options) -> CountResult:
    """Count vehicles in one or many scenes into one set of outputs, per date, zone and class.

    ``inputs`` are raster files, folders of them, glob patterns or a STAC ItemCollection with local
    assets. ``options`` are the fields of :class:`~geotally.config.CountConfig` (zones, border,
    roads, model, conf, calibration, claim, dates...), changed from ``config`` or the defaults.

    Every scene and vector file is opened and checked before the first tile runs. Each scene is
    detected (resuming its checkpoint in ``out``), then where two scenes of the same date overlap a
    vehicle is kept only from the scene in which it lies farthest from the edge; scenes of
    different dates are all kept, and overlapping scenes without dates are refused. One analysis
    pass over all scenes then gives zones, sides, sizes, types, roads, queues (within each date)
    and the count tables per date. ``progress(tiles_done, tiles_total, vehicles_found[, label])`` is
    called after every batch; with ``out``, results are written there atomically. ``models`` is a
    dict kept between calls of one process, so that a model is loaded once.
    """
    return run_count(list(inputs), out, CountConfig.of(config, **options), progress, say, models)


def count(scene: str | os.PathLike, zones: str | os.PathLike | None = None, model: str | None = None, *,
          out: str | os.PathLike | None = None, config: CountConfig | None = None,
          progress: Callable[..., None] | None = None, say: Callable[[str], None] = lambda msg: None,
          models: dict | None = None, **options) -> CountResult:
    """Count vehicles in one scene, per zone: :func:`count_scenes` of that one scene.

    ``conf`` is one score threshold for every class, or per class name with ``"*"`` for the rest;
    the default is the model's own, per class, chosen by measurement. ``border`` splits the scene
    into two sides (without ``zones`` the sides are the zones). ``calibration`` turns raw counts into
    estimates with 95% intervals, and ``claim`` ({zone: count}) is tested against them. ``date``
    (YYYY-MM-DD) is the scene's date when it has none of its own (its tags, STAC). ``roads`` ties
    each vehicle to the road it is on; ``route`` is planned over them; ``on_road_only`` counts only
    what is on a road. See :class:`~geotally.config.CountConfig` for every option.
    """
    if zones is not None:
        options["zones"] = zones
    if model is not None:
        options["model"] = model
    return count_scenes([scene], out=out, config=config, progress=progress, say=say, models=models, **options)
