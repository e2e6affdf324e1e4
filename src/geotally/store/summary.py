"""The run's provenance, summary.json, as a typed object: what was counted, with what, and how.

Its top level, the scene records, the model record and the queue totals are typed; the sub-records
that are documented JSON objects of their own (``parameters``, ``inputs``, ``zones``, ``border``,
``roads``, ``route``, ``calibration``, ``trailer_types``) stay plain dicts, as they are written.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from geotally.config.count import CountConfig
from geotally.errors import GeotallyError
from geotally.imagery.dates import run_dates
from geotally.imagery.labels import scene_labels


@dataclass
class SceneRecord:
    """One scene of the run: the file and its checksum, its grid, tiles, date, and what the overlap rule kept."""

    path: str
    width: int
    height: int
    bands_used: list[int]
    dtype: str
    crs: str | None
    gsd_m: list[float]
    georeferenced: bool
    sha256: str
    bytes: int
    tiles: int = 0
    tiles_resumed: int = 0
    date: str | None = None
    kept: int = 0  # detections kept under the overlap rule
    dropped_in_overlaps: int = 0  # detections another scene of the same date holds
    joined_at_seams: int = 0  # pieces of vehicles cut by this scene's edge, joined to the piece next door
    remote: dict | None = None  # a crop of a remote COG: catalogue, item, href, ETag, size, pixels' sha256
    sidecars: list[str] | None = None  # files GDAL read beside it (a world file, .aux.xml, .msk): in the sha256

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass
class ModelRecord:
    """The detector as run: registry name (None for --weights), files and checksums, scale, classes."""

    name: str | None
    file: str
    sha256: str
    run_file: str
    run_file_sha256: str
    native_gsd_m: float
    detector: dict
    classes: dict[str, str]


@dataclass
class QueueTotals:
    """How many queue lines (one per lane), how many queues with the lanes of one counted once, and
    vehicles in them against elsewhere (vehicles only)."""

    count: int
    vehicles_in_queues: int
    vehicles_elsewhere: int
    groups: int | None = None  # None in a summary written before lanes were grouped
    # a run of several dates: these four per date (dates are never added together; the totals above are
    # over the run, a queue line and its vehicles belonging to one date)
    by_date: dict[str, dict[str, int]] | None = None


@dataclass
class RunSummary:
    """summary.json: every count traces from here to the model, the parameters and the scenes' checksums."""

    geotally_version: str
    created_utc: str
    model: ModelRecord
    parameters: dict
    scenes: list[SceneRecord]
    counts: list[dict]
    counts_corrected: bool
    note: str
    queues: QueueTotals
    coordinates: str
    inputs: dict
    zones: dict | None = None
    border: dict | None = None
    roads: dict | None = None
    route: dict | None = None
    vehicle_classes: list[str] = field(default_factory=list)
    calibration: dict | None = None
    trailer_types: dict = field(default_factory=dict)
    size_classes: dict[str, int] = field(default_factory=dict)
    counts_by_size: list[dict] = field(default_factory=list)  # per date, zone and size class (counts_by_size.csv)
    length_histogram: dict = field(default_factory=dict)
    claims: list[dict] | None = None
    stationary: dict | None = None  # with several dates: the rule, the table, the shifts between dates
    config: CountConfig | None = None  # what the run was asked, whole: a recount starts from it (None: older runs)
    # a recount: {"changed": {option: {"from": old, "to": new}}, "detected_utc": the counting run's created_utc}
    recount: dict | None = None
    overlap_rule: str = ("where scenes of the same date overlap, a vehicle is kept only from the scene in which "
                         "its centre lies farthest from the scene edge; a vehicle cut by the edge between two scenes "
                         "of one date that touch is one detection, the rectangle of its two pieces, kept by the "
                         "scene with the larger piece")

    @property
    def georeferenced(self) -> bool:
        return all(s.georeferenced for s in self.scenes)

    @property
    def scene_labels(self) -> list[str]:
        """Each scene's name in the results (imagery.labels.scene_labels of their paths)."""
        return scene_labels([s.path for s in self.scenes])

    @property
    def dates(self) -> list[str]:
        """The run's dates, dated ones in order, then '' for undated scenes (if any)."""
        return [d or "" for d in run_dates([s.date for s in self.scenes])]

    def to_dict(self) -> dict:
        """As summary.json holds it, in the order it has always been written."""
        d = asdict(replace(self, config=None))
        d["config"] = self.config.to_dict() if self.config is not None else None
        return {k: d[k] for k in (*_ORDER, *(k for k in d if k not in _ORDER))}

    @classmethod
    def from_dict(cls, doc: dict) -> RunSummary:
        """A summary read back; keys this version does not know are ignored, missing ones take defaults."""
        def make(kind, d):
            names = {f.name for f in fields(kind)}
            return kind(**{k: v for k, v in d.items() if k in names})

        d = dict(doc)
        d["model"] = make(ModelRecord, d["model"])
        d["scenes"] = [make(SceneRecord, s) for s in d["scenes"]]
        d["queues"] = make(QueueTotals, d["queues"])
        d["config"] = CountConfig.from_dict(d["config"]) if d.get("config") else None
        return make(cls, d)


_ORDER = ("geotally_version", "created_utc", "model", "parameters", "scenes", "zones", "border", "roads",
          "vehicle_classes", "counts", "counts_corrected", "note", "calibration", "trailer_types", "size_classes",
          "length_histogram", "queues", "claims", "coordinates", "inputs", "overlap_rule", "route", "stationary")


def read_summary(results: str | os.PathLike, verify: bool = True) -> RunSummary:
    """The summary of a results folder; with ``verify``, only of a complete one (its manifest checked)."""
    folder = Path(results)
    path = folder / "summary.json"
    if not path.is_file():
        raise GeotallyError(f"{folder} is not a geotally results folder (no summary.json); give the --out of a count")
    if verify:
        from geotally.store.outputs import check_manifest  # its geopandas only when a folder is read

        check_manifest(folder)
    try:
        doc = json.loads(path.read_text())
    except ValueError:
        raise GeotallyError(f"{path} is not JSON; count again") from None
    if not isinstance(doc, dict) or "inputs" not in doc:
        raise GeotallyError(f"{folder} was written by an older geotally that did not record its inputs; count again")
    try:
        return RunSummary.from_dict(doc)
    except (KeyError, TypeError):
        raise GeotallyError(f"{path} is not a summary this geotally can read; count again") from None
