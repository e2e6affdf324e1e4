"""Every option of a count and its default, declared once: ``geotally.count``, ``count_scenes``,
``recount`` and the CLI all read them from :class:`CountConfig`, and every value check runs in
:meth:`CountConfig.validate`, so a script and the CLI refuse the same value with the same line.

The parameters of single steps keep their own typed configs (:mod:`geotally.config.params`), which a
``CountConfig`` holds as they are. :meth:`CountConfig.to_dict` / :meth:`CountConfig.from_dict` are
the one round trip through ``summary.json``; a recount is the stored config with exactly the user's
changes applied (:meth:`CountConfig.changed`).
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from typing import Any

from geotally.config.defaults import (BATCH, CLAIM_SIZE_CLASSES, MODEL_IOU, OVERLAP, SEAM_IOU, SIZE_THRESHOLDS,
                                      TRAILER_TYPES, VEHICLE_CLASSES)
from geotally.config.limits import (GSD_M, MAX_BATCH, MAX_THREADS, MODEL_GSD_M, TILE_PX, check_increasing, iso_date,
                                    check_number, is_number, set_plain, set_wholes, whole)
from geotally.config.params import QueueParams, RoadParams, RouteParams, StationaryParams, TrailerParams
from geotally.config.thresholds import conf_thresholds
from geotally.errors import GeotallyError

PathLike = str | os.PathLike

EXPORTS = ("kml",)
BACKENDS = ("auto", "onnx", "ultralytics")

# The nested parameter objects, by the CountConfig field that holds each.
NESTED = {"road": RoadParams, "route_params": RouteParams, "queue": QueueParams, "stationary": StationaryParams,
          "trailer": TrailerParams}
# Fields that hold tuples (JSON stores lists).
_TUPLES = ("sides", "bands", "distance_bands", "size_thresholds", "export")
# Fields that name files: stored as absolute paths, so a recount finds them from anywhere.
_PATHS = ("zones", "border", "roads", "weights", "calibration")
# What a recount may change: the analysis, never what detection depends on.
RECOUNTABLE = ("conf", "zones", "zone_field", "border", "sides", "distance_bands", "size_thresholds", "queue",
               "calibration", "claim", "claim_class", "export", "basemap", "roads", "road", "route", "route_params",
               "on_road_only", "stationary")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _as_tuple(value: Any, name: str) -> Any:
    """A tuple field as given by a script: a list as a tuple, and one value where several may be given as
    a tuple of one (as the CLI reads ``--bands 3`` or ``--export kml``): never a string letter by letter.
    Anything else is left for :meth:`CountConfig.validate` to refuse."""
    if isinstance(value, list):
        return tuple(value)
    one = isinstance(value, str) if name == "export" else (
        isinstance(value, numbers.Real) and not isinstance(value, bool) and name != "sides")
    return (value,) if one else value


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
    model_iou: float = MODEL_IOU
    seam_iou: float = SEAM_IOU
    tile_size: int | None = None  # None: the model's
    overlap: int = OVERLAP  # model pixels; longer than a truck
    batch: int = BATCH
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
    size_thresholds: tuple[float, float, float] = SIZE_THRESHOLDS
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

    def __post_init__(self) -> None:
        # The types a run needs, from what a script naturally gives: whole-number floats as ints, lists as
        # tuples, one value as a tuple of one. Wrong types are left for validate() to refuse in one line.
        set_plain(self)
        set_wholes(self, "tile_size", "overlap", "batch", "threads", "workers")
        for name in _TUPLES:
            object.__setattr__(self, name, _as_tuple(getattr(self, name), name))
        if isinstance(self.bands, tuple):
            object.__setattr__(self, "bands", tuple(whole(b) for b in self.bands))

    @classmethod
    def of(cls, config: CountConfig | None = None, **options) -> CountConfig:
        """``config`` (or the defaults) with ``options`` changed (an unknown option is a TypeError, as
        for any Python call)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(f"count() got an unexpected option {unknown[0]!r}; options: {', '.join(sorted(known))}")
        base = config or cls()
        for name, value in options.items():  # queue={"max_gap": 30}: those values changed, the rest kept
            if name in NESTED and isinstance(value, dict):
                names = {f.name for f in fields(NESTED[name])}
                bad = sorted(set(value) - names)
                if bad:
                    raise TypeError(f"count() got an unexpected option {name}.{bad[0]}; {name} options: "
                                    f"{', '.join(sorted(names))}")
                options[name] = replace(getattr(base, name), **value)
        return replace(base, **options)

    # -- checks --------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise a one-line GeotallyError naming the first option out of range, or given without the
        option it needs. Everything that can be checked without reading a file is checked here."""
        d = CountConfig()
        if self.gsd is not None:
            check_number("--gsd", self.gsd, *GSD_M)
        if self.model_gsd is not None:
            check_number("--model-gsd", self.model_gsd, *MODEL_GSD_M)
        if self.tile_size is not None:
            check_number("--tile-size", self.tile_size, *TILE_PX, integer=True)
            if int(self.tile_size) % 32:
                raise GeotallyError(f"--tile-size must be a multiple of 32 (the model's stride), got {self.tile_size}")
        if self.tile_size and self.overlap == OVERLAP and OVERLAP >= self.tile_size:  # the default, never given
            raise GeotallyError(f"--tile-size {self.tile_size} is not above the default --overlap {OVERLAP}; give "
                                f"--overlap below {self.tile_size} too (tiles must overlap by less than their side)")
        check_number("--overlap", self.overlap, 0, (self.tile_size or TILE_PX[1]) - 1, integer=True)
        check_number("--batch", self.batch, 1, MAX_BATCH, integer=True)
        check_number("model_iou", self.model_iou, 0.01, 1.0)
        check_number("seam_iou", self.seam_iou, 0.01, 1.0)
        if self.threads is not None:
            check_number("--threads", self.threads, 1, MAX_THREADS, integer=True)
        check_number("--workers", self.workers, 1, MAX_THREADS, integer=True)
        if self.backend not in BACKENDS:
            raise GeotallyError(f"--backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if not isinstance(self.size_thresholds, tuple):
            raise GeotallyError(f"--size-thresholds takes 3 increasing numbers, got {self.size_thresholds!r}")
        if len(self.size_thresholds) != 3:
            raise GeotallyError(f"--size-thresholds takes 3 increasing numbers, got {len(self.size_thresholds)}")
        check_increasing("--size-thresholds", list(self.size_thresholds), 0.5, 100)
        if self.distance_bands is not None and not isinstance(self.distance_bands, tuple):
            raise GeotallyError(f"--distance-bands takes increasing numbers of metres, like 0,1000,5000; "
                                f"got {self.distance_bands!r}")
        if self.distance_bands:
            check_increasing("--distance-bands", list(self.distance_bands), 0, 1e7)
        for name, kind in NESTED.items():
            params = getattr(self, name)
            if not isinstance(params, kind):
                raise GeotallyError(f"{name} takes a {kind.__name__} or a dict of its values, got {params!r}")
            params.validate()
        if self.conf is not None:
            if not (is_number(self.conf) or isinstance(self.conf, dict) and all(map(is_number, self.conf.values()))):
                raise GeotallyError(f"--conf takes a number or class=number pairs, got {self.conf!r}")
            conf_thresholds(self.conf)
        if self.bands is not None and (not isinstance(self.bands, tuple) or len(self.bands) not in (1, 3) or
                                       not all(isinstance(b, int) and b >= 1 for b in self.bands)):
            raise GeotallyError(f"--bands takes 1 or 3 band numbers from 1, like 3,2,1; got {self.bands}")
        if self.sides is not None:
            if (not isinstance(self.sides, tuple) or len(self.sides) != 2
                    or not all(isinstance(s, str) and s.strip() for s in self.sides)):
                raise GeotallyError(f"--sides takes two names, left then right, like TR,IQ; got {self.sides!r}")
            if self.sides[0] == self.sides[1]:
                raise GeotallyError(f"--sides needs two different names, got {self.sides[0]!r} twice")
        bad = [e for e in self.export if e not in EXPORTS] if isinstance(self.export, tuple) else [self.export]
        if bad:
            raise GeotallyError(f"--export takes {', '.join(EXPORTS)}, got {bad[0]!r}")
        if self.claim is not None:
            if not isinstance(self.claim, dict):
                raise GeotallyError(f"--claim takes ZONE=COUNT pairs like {{'TR': 4530, 'IQ': 7245}}, "
                                    f"got {self.claim!r}")
            for zone, n in self.claim.items():
                check_number(f"--claim {zone}", n, 0, 1e9, what="a count")
        if self.claim_class not in (*VEHICLE_CLASSES, *TRAILER_TYPES, *CLAIM_SIZE_CLASSES):
            raise GeotallyError(f"--claim-class must be one of "
                                f"{', '.join((*VEHICLE_CLASSES, *TRAILER_TYPES, *CLAIM_SIZE_CLASSES))}, "
                                f"got {self.claim_class!r}")
        if self.date is not None:  # checked even where every scene has a date of its own, and so ignores it
            iso_date(self.date)
        if self.claim and self.claim_class in TRAILER_TYPES and not self.trailer.enabled:
            raise GeotallyError(f"--claim-class {self.claim_class} needs the trailer types that --no-trailer-types "
                                "turns off; leave that out, or claim another class")
        # An option that does nothing without another is an error, not silently ignored.
        needs = {"sides": "border", "distance_bands": "border", "zone_field": "zones", "claim_class": "claim",
                 "road": "roads", "route": "roads", "route_params": "route", "on_road_only": "roads"}
        for opt, other in needs.items():
            if getattr(self, opt) != getattr(d, opt) and not getattr(self, other):
                shown = {"road": "road_distance", "route_params": "route_stretch"}.get(opt, opt)
                raise GeotallyError(f"{_flag(shown)} has no effect without {_flag(other)}; give {_flag(other)} too, "
                                    f"or leave {_flag(shown)} out")
        # Options of which only one can take effect.
        for a, b, given in (("model", "weights", self.model is not None and self.weights is not None),
                            ("dask", "workers", self.dask is not None and self.workers != d.workers),
                            ("dask", "threads", self.dask is not None and self.threads is not None)):
            if given:
                raise GeotallyError(f"{_flag(a)} and {_flag(b)} cannot be used together ({_flag(a)} would override "
                                    f"{_flag(b)}); give one")
        if self.route is not None:
            from geotally.roads.route import parse_waypoints

            parse_waypoints(self.route)

    # -- the round trip through summary.json ---------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: nested parameter objects as dicts, tuples as lists, file paths absolute (a
        calibration given as a loaded object is stored as None: it has no file to read again)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in _PATHS:
                v = os.path.abspath(str(v)) if isinstance(v, (str, os.PathLike)) else None
            elif is_dataclass(v):
                v = asdict(v)
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> CountConfig:
        """A config read back from :meth:`to_dict`; keys this version does not know are ignored and
        missing ones take their defaults (a folder written by an older geotally)."""
        known = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        for k, v in doc.items():
            if k not in known:
                continue
            if k in NESTED:
                v = params_from_dict(NESTED[k], v)
            elif k in _TUPLES and v is not None:
                v = tuple(v)
            kw[k] = v
        return cls(**kw)

    def changed(self, changes: dict[str, Any]) -> tuple[CountConfig, dict[str, dict[str, Any]]]:
        """This config with ``changes`` applied, checked (:meth:`validate`: a bad change is refused
        before anything reads it), and what changed (``{"queue.max_gap": {"from": 25, "to": 30}}``). A
        key is a field (``conf``) or a field of a nested parameter object (``queue.max_gap``); a nested
        field changes that one value and keeps the others."""
        top: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            head, _, sub = key.partition(".")
            if sub:
                if head not in NESTED or sub not in {f.name for f in fields(NESTED[head])}:
                    raise TypeError(f"unknown option {key!r}")
                nested.setdefault(head, {})[sub] = value
            else:
                top[key] = value
        new = CountConfig.of(self, **top)
        if nested:
            new = replace(new, **{h: replace(getattr(new, h), **kv) for h, kv in nested.items()})
        new.validate()
        return new, diff(self, new)


def params_from_dict(kind: type, doc: dict | None):
    """A nested parameter object from its stored dict (unknown keys ignored, one renamed key of
    older runs read under its new name)."""
    doc = dict(doc or {})
    if kind is QueueParams and "max_median_gap" in doc:  # runs before the wide-gap share rule
        doc["standing_gap"] = doc.pop("max_median_gap")
    names = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in doc.items() if k in names})


def diff(a: CountConfig, b: CountConfig) -> dict[str, dict[str, Any]]:
    """The values that differ between two configs, as dotted names (nested fields one by one)."""
    da, db = a.to_dict(), b.to_dict()
    out: dict[str, dict[str, Any]] = {}
    for k in da:
        if k in NESTED:
            for sub in da[k]:
                if da[k][sub] != db[k][sub] and not _both_nan(da[k][sub], db[k][sub]):
                    out[f"{k}.{sub}"] = {"from": da[k][sub], "to": db[k][sub]}
        elif da[k] != db[k]:
            out[k] = {"from": da[k], "to": db[k]}
    return out


def _both_nan(x, y) -> bool:
    return isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)
