"""review.gpkg: every review decision (who, when, what), saved atomically the moment it is made.

The file is rewritten whole for each decision: the new version is written beside it, flushed to
disk and put in its place with one ``os.replace``, under a lock file that other processes honour
too. A killed server or a power cut leaves the last complete version, never half a file; two
browser tabs (or two servers) on the same results append in turn and never overwrite each other,
because the decisions are read back from the file under the lock before each one is added.

Actions: accept, reject and relabel a detection; add a vehicle the model missed; mark a sampled
window as searched (every miss in it added); undo.

Layers: ``decisions`` (the log: nothing is ever deleted, an undo is a decision of its own that
names the one it takes back), ``sample`` (the units of a review sample, if one was drawn) and
``strata`` (each stratum's size, no geometry).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import geopandas as gpd
import pandas as pd
import pyogrio

from geotally.errors import GeotallyError
from geotally.imagery.offline import check_local, vectors_offline
from geotally.store.styles import write_styles

ACTIONS = ("accept", "reject", "relabel", "add", "searched", "undo")
DECISION_COLUMNS = ["decision_id", "action", "det_id", "label_class", "trailer_type", "sample_unit", "undoes",
                    "reviewer", "time_utc", "scene"]
_THREAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class Decision:
    """One reviewer action. ``geometry`` is the vehicle's box in the results' CRS (the detection's for
    accept, reject and relabel; the drawn one for add; none for undo)."""

    action: str
    det_id: str = ""
    label_class: str = ""
    trailer_type: str = ""
    sample_unit: str = ""
    reviewer: str = ""
    scene: str = ""
    geometry: object = None


@dataclass(frozen=True)
class ReviewFile:
    """What review.gpkg holds."""

    decisions: gpd.GeoDataFrame
    sample: gpd.GeoDataFrame | None
    strata: pd.DataFrame | None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with _THREAD_LOCK, open(path.with_name(path.name + ".lock"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _empty(crs) -> gpd.GeoDataFrame:
    cols = {c: pd.Series(dtype="int64" if c in ("decision_id", "undoes") else object) for c in DECISION_COLUMNS}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def read_review(path: str | os.PathLike, crs=None) -> ReviewFile:
    """The file's layers (an empty log when there is no file yet)."""
    path = Path(path)
    if not path.exists():
        return ReviewFile(_empty(crs), None, None)
    check_local(path)
    try:
        with vectors_offline():
            layers = {name for name, _ in pyogrio.list_layers(path)}
            decisions = gpd.read_file(path, layer="decisions") if "decisions" in layers else _empty(crs)
            sample = gpd.read_file(path, layer="sample") if "sample" in layers else None
            strata = pyogrio.read_dataframe(path, layer="strata", read_geometry=False) if "strata" in layers else None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GeotallyError(f"{path} is not a review file geotally can read ({exc}); move it away to start afresh") from None
    if "undoes" in decisions:
        decisions["undoes"] = decisions["undoes"].fillna(-1).astype("int64")
    for c in DECISION_COLUMNS:
        if c not in decisions:
            raise GeotallyError(f"{path}: the decisions layer lacks column {c!r}; it was not written by geotally review")
        if c not in ("decision_id", "undoes"):
            decisions[c] = decisions[c].fillna("").astype(str)
    return ReviewFile(decisions, sample, strata)


def _write(path: Path, review: ReviewFile) -> None:
    """The whole file, written beside ``path`` and moved into place in one step."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # GDAL creates the file itself
    try:
        review.decisions.to_file(tmp, layer="decisions", driver="GPKG")
        if review.sample is not None:
            review.sample.to_file(tmp, layer="sample", driver="GPKG")
        if review.strata is not None:
            pyogrio.write_dataframe(review.strata, tmp, layer="strata", driver="GPKG")
        write_styles(tmp)  # QGIS opens the decisions coloured by action
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def start_review(path: str | os.PathLike, crs, sample: gpd.GeoDataFrame | None = None,
                 strata: pd.DataFrame | None = None) -> ReviewFile:
    """Create review.gpkg if it is missing (with the sample, if one is given); an existing file keeps
    its decisions, and its sample unless it has none yet."""
    path = Path(path)
    with _locked(path):
        current = read_review(path, crs)
        if path.exists() and (sample is None or current.sample is not None):
            return current
        review = ReviewFile(current.decisions, sample if current.sample is None else current.sample,
                            strata if current.strata is None else current.strata)
        _write(path, review)
        return review


def append(path: str | os.PathLike, decision: Decision, crs) -> tuple[int, ReviewFile]:
    """Add one decision and save; returns its id. An ``undo`` takes back the reviewer's own newest decision
    that is still in effect (``det_id`` left empty) or their newest one on ``det_id``: with two reviewers
    on one folder, one's undo took back the other's decision."""
    if decision.action not in ACTIONS:
        raise GeotallyError(f"unknown review action {decision.action!r}; one of {', '.join(ACTIONS)}")
    path = Path(path)
    with _locked(path):
        current = read_review(path, crs)
        log = current.decisions
        undoes = -1
        det_id = decision.det_id
        if decision.action == "undo":
            live = in_effect(log)
            live = live[live["reviewer"].fillna("").astype(str) == (decision.reviewer or "")]
            if decision.det_id:
                live = live[live["det_id"] == decision.det_id]
            if live.empty:
                raise GeotallyError("nothing of yours to undo" if decision.reviewer else "nothing to undo")
            undoes = int(live["decision_id"].iloc[-1])
            det_id = str(live["det_id"].iloc[-1])
        next_id = int(log["decision_id"].max()) + 1 if len(log) else 1
        if decision.action == "add" and not det_id:
            det_id = f"added-{next_id:05d}"
        row = {"decision_id": next_id, "action": decision.action, "det_id": det_id,
               "label_class": decision.label_class, "trailer_type": decision.trailer_type,
               "sample_unit": decision.sample_unit, "undoes": undoes, "reviewer": decision.reviewer,
               "time_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
               "scene": decision.scene}
        new = gpd.GeoDataFrame([row], geometry=gpd.GeoSeries([decision.geometry], crs=crs), crs=crs)
        log = new if log.empty else pd.concat([log.to_crs(crs) if log.crs and crs else log, new], ignore_index=True)
        review = ReviewFile(gpd.GeoDataFrame(log, geometry="geometry", crs=crs), current.sample, current.strata)
        _write(path, review)
        return next_id, review


def in_effect(log: pd.DataFrame) -> pd.DataFrame:
    """The decisions that stand: not undos, and not taken back by one."""
    if log.empty:
        return log
    undone = set(log.loc[log["action"] == "undo", "undoes"].astype(int))
    keep = (log["action"] != "undo") & ~log["decision_id"].astype(int).isin(undone)
    return log[keep]


def current_labels(log: pd.DataFrame) -> pd.DataFrame:
    """Per reviewed detection (and per added vehicle) the decision that stands last."""
    live = in_effect(log)
    if live.empty:
        return live
    det = live[live["action"] != "add"].drop_duplicates("det_id", keep="last")
    added = live[live["action"] == "add"]
    return pd.concat([det, added]).sort_values("decision_id")

