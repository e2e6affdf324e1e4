"""The Python API: every command of the CLI is a function here, and the CLI only parses its text and
prints what these return. Every option and its default is declared once, in :mod:`geotally.config`,
and every value check runs here, so a script and the CLI refuse the same value with the same line.

Heavy stages are imported inside each function, so ``import geotally`` stays light.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from geotally.config.count import CountConfig
from geotally.config.defaults import MATCH_CONF, MATCH_IOU
from geotally.config.limits import check_number, is_number, plain
from geotally.config.params import SearchParams
from geotally.errors import GeotallyError

if TYPE_CHECKING:
    import pandas as pd

    from geotally.analysis.calibration import Calibration
    from geotally.pipeline.result import CountResult
    from geotally.analysis.sampling import SampleCalibration
    from geotally.imagery.stac import Search
    from geotally.store.summary import RunSummary

__all__ = ["count", "count_scenes", "recount", "show", "change", "evaluate", "calibrate", "CountConfig",
           "Shown", "Change", "search"]

PathLike = str | os.PathLike


def _paths(value: PathLike | Iterable[PathLike] | None) -> list[PathLike]:
    """Where a function takes several paths: one str or PathLike is a list of one (never read letter by
    letter), None is none."""
    if value is None:
        return []
    return [value] if isinstance(value, (str, os.PathLike)) else list(value)


def count_scenes(inputs: PathLike | list[PathLike], *, out: PathLike | None = None, config: CountConfig | None = None,
                 progress: Callable[..., None] | None = None, say: Callable[[str], None] = lambda msg: None,
                 models: dict | None = None, search: SearchParams | None = None, remote: bool = False,
                 **options) -> CountResult:
    """Count vehicles in one or many scenes into one set of outputs, per date, zone and class.

    ``inputs`` are raster files, folders of them, glob patterns or a STAC ItemCollection with local
    assets. ``options`` are the fields of :class:`~geotally.config.CountConfig` (zones, border,
    roads, model, conf, calibration, claim, dates...), changed from ``config`` or the defaults.

    Every option is checked first (:meth:`CountConfig.validate`), then every scene and vector file is
    opened and checked before the first tile runs. Each scene is detected (resuming its checkpoint
    in ``out``), then where two scenes of the same date overlap a vehicle is kept only from the
    scene in which it lies farthest from the edge; scenes of different dates are all kept, and
    overlapping scenes without dates are refused. One analysis pass over all scenes then gives
    zones, sides, sizes, types, roads, queues (within each date) and the count tables per date.
    ``progress(tiles_done, tiles_total, vehicles_found[, label])`` is called after every batch; with
    ``out``, results are written there atomically. ``models`` is a dict kept between calls of one
    process, so that a model is loaded once.

    Remote imagery is read only where asked: ``search`` names a catalogue whose items are counted
    (their datetimes are the dates), an http(s) URL among ``inputs`` is a remote COG, and ``remote``
    lets an ItemCollection file's remote assets be read. Only the area of interest of each (the
    search's bbox, else the zones, else the border's distance bands) is read, by HTTP range requests.
    """
    from geotally.pipeline.run import run_count

    return run_count(_paths(inputs), out, CountConfig.of(config, **options), progress, say, models, search=search,
                     remote=remote)


def count(scene: PathLike | list[PathLike], zones: PathLike | None = None, model: str | None = None, *,
          out: PathLike | None = None, config: CountConfig | None = None,
          progress: Callable[..., None] | None = None, say: Callable[[str], None] = lambda msg: None,
          models: dict | None = None, **options) -> CountResult:
    """Count vehicles in one scene, per zone: :func:`count_scenes` of that one scene (a list of scenes
    is taken as :func:`count_scenes` takes it).

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
    return count_scenes(_paths(scene), out=out, config=config, progress=progress, say=say, models=models, **options)


def recount(results: PathLike, *, progress: Callable[..., None] | None = None,
            say: Callable[[str], None] = lambda msg: None, **changes) -> CountResult:
    """The run in ``results`` again, without detecting again, with the analysis options in
    ``changes`` changed and every other option the run's own (nested ones included: ``queue={"max_gap":
    30}`` keeps the run's ``min_vehicles``). summary.json lists what changed. With no changes it
    rebuilds the report and exports."""
    from geotally.pipeline.recount import recount as _recount

    return _recount(results, progress=progress, say=say, **changes)


@dataclass
class Shown:
    """What a results folder holds, read without recomputing: its provenance and its counts table."""

    summary: RunSummary
    counts: pd.DataFrame


def show(results: PathLike) -> Shown:
    """The summary and counts of a finished results folder (its manifest checked first)."""
    import pandas as pd

    from geotally.store.summary import read_summary

    summary = read_summary(results)
    counts = pd.read_csv(Path(results) / "counts.csv", keep_default_na=False, dtype={"zone": str})
    return Shown(summary, counts)


@dataclass
class Change:
    """Differences of counts between dates per zone and class, and the largest step of the trucks."""

    table: pd.DataFrame
    change_point: dict | None


def change(results: PathLike | list[PathLike], *, out: PathLike | None = None, force: bool = False) -> Change:
    """Compare dates: one multi-date results folder, or two folders (earlier first). With a
    calibration, each difference has a 95% interval and a verdict. ``out`` writes the table (CSV);
    an existing file is replaced only with ``force``."""
    from geotally.pipeline.change import change as _change
    from geotally.store.outputs import check_out_file, write_csv

    if out is not None:
        check_out_file(out, "-o", force=force, example="change.csv")
    table, point = _change(_paths(results))
    if out is not None:
        write_csv(Path(out), table)
    return Change(table, point)


def evaluate(detections: PathLike | list[PathLike], truth: PathLike, *, iou: float = MATCH_IOU,
             radius_m: float | None = None, conf: float = MATCH_CONF, zones: PathLike | None = None,
             out: PathLike | None = None, force: bool = False) -> dict:
    """Score detections (files or results folders) against labelled truth: precision, recall, F1,
    AP50 and count error per class, image and zone. ``radius_m`` matches centres instead of IoU."""
    from geotally.pipeline.evaluate import evaluate as _evaluate
    from geotally.store.outputs import check_out_file, write_json

    check_number("--iou", iou, 0.01, 1.0)
    if radius_m is not None:
        check_number("--radius", radius_m, 0.01, 1000, what="metres")
    check_number("--conf", conf, 0.0, 0.999)
    detections = _paths(detections)
    if not detections:
        raise GeotallyError("evaluate takes one or more DETECTIONS and then the TRUTH")
    for p in (*detections, truth):
        if not Path(p).exists():
            raise GeotallyError(f"not found: {p}")
    if out is not None:
        check_out_file(out, "-o", force=force)
    report = _evaluate([Path(d) for d in detections], Path(truth), iou=iou, radius_m=radius_m, conf=conf,
                       zones=Path(zones) if zones is not None else None)
    if out is not None:
        write_json(Path(out), report)
    return report


DEFAULT_GROUP = r"^(.*?)[-_]?\d+$"  # a trailing frame number stripped: MOS74 -> MOS


def calibrate(evaluation: PathLike, *, out: PathLike | None = None, force: bool = False,
              group: str | None = DEFAULT_GROUP, gsd: float | tuple[float, ...] | None = None,
              sensor: str | None = None, kind: str | None = None) -> Calibration | SampleCalibration:
    """A calibration for count's estimates and intervals: from an evaluation.json of labelled images
    like the ones to count (``group`` names each image's scene group; intervals carry the spread
    of the rates between groups), or from a reviewed sample of the scene itself (RESULTS/review.gpkg).
    ``gsd`` is (min[, max]) metres of the labelled imagery (one number: min and max); count warns outside it."""
    import json
    from dataclasses import asdict

    from geotally.store.outputs import check_out_file, write_json

    if gsd is not None:
        gsd = plain(gsd)
        if is_number(gsd):
            gsd = (gsd,)
        if not isinstance(gsd, (tuple, list)):
            raise GeotallyError(f"--gsd takes MIN[,MAX] metres, got {gsd!r}")
        if any(is_number(a) and is_number(b) and b < a
               for a, b in zip(gsd, gsd[1:])):  # MIN <= MAX, refused as the CLI's parser refuses it
            raise GeotallyError(f"--gsd takes some increasing numbers, got {','.join(map(str, gsd))!r}")
        if not 1 <= len(gsd) <= 2:
            raise GeotallyError(f"--gsd takes MIN[,MAX] metres, got {len(gsd)} numbers")
        for v in gsd:
            check_number("--gsd", v, 0.005, 100, what="metres")
    if out is not None:
        check_out_file(out, "-o", force=force)
    evaluation = Path(evaluation)
    if evaluation.suffix.lower() == ".gpkg":
        from geotally.review.calibrate import sample_calibration

        cal = sample_calibration(evaluation)
    else:
        from geotally.analysis.calibration import Calibration

        try:
            report = json.loads(evaluation.read_text())
        except (FileNotFoundError, IsADirectoryError):
            raise GeotallyError(f"evaluation file not found: {evaluation}") from None
        except (ValueError, UnicodeDecodeError):
            raise GeotallyError(f"{evaluation} is not JSON; give the file 'geotally evaluate' wrote") from None
        meta = {"sensor": sensor, "kind": kind, "model": report.get("model") if isinstance(report, dict) else None,
                "conf": report.get("thresholds") if isinstance(report, dict) else None}
        evaluation = evaluation.resolve()  # recorded as the calibration's source, and from it in summary.json
        if gsd is not None:
            meta.update(gsd_m_min=min(gsd), gsd_m_max=max(gsd))
        cal = Calibration.from_evaluation(report, source=str(evaluation), group=group or r"^(.*)$", meta=meta)
    import datetime as dt

    from geotally._version import __version__

    # which code made it, and when
    cal.meta.update(geotally_version=__version__,
                    created_utc=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    if out is not None:
        write_json(Path(out), asdict(cal))
    return cal


def search(params: SearchParams, *, zones: PathLike | None = None, border: PathLike | None = None,
           save: PathLike | None = None, force: bool = False, say: Callable[[str], None] = lambda msg: None) -> Search:
    """The items of a STAC API (``params.stac_api``) or a static catalogue (``params.catalog``, URL or
    file) that cover the area of interest (``params.bbox`` W,S,E,N degrees, or a ``zones`` or ``border``
    file) in ``params.datetime`` (START/END), within its GSD range, cloud cover and number of items,
    oldest first; broken items are skipped one line each (``say``). ``save`` writes them as an
    ItemCollection for :func:`count_scenes`; an existing file (the catalogue searched, say) is
    replaced only with ``force``."""
    from geotally.imagery.stac import find
    from geotally.store.outputs import check_out_file

    params.validate()
    if save is not None:
        check_out_file(save, "--save", force=force)
    return find(stac_api=params.stac_api, catalog=params.catalog, collections=params.collections,
                datetime=params.datetime, bbox=params.bbox, zones=zones, border=border, gsd_range=params.gsd_range,
                max_cloud=params.max_cloud, max_items=params.max_items, save=save, say=say)
