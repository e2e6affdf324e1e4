"""From a reviewed sample (review.gpkg) to the scene's own calibration."""

from __future__ import annotations

from pathlib import Path

from geotally.analysis.sampling import REJECT, SampleCalibration
from geotally.errors import GeotallyError
from geotally.imagery.checksum import file_sha256
from geotally.store.review import current_labels, read_review


def sample_calibration(path: str | Path) -> SampleCalibration:
    """Outcomes per detection stratum and misses per searched window, as the estimator wants them.

    Only units of the sample count: a detection reviewed while browsing, or a vehicle added outside
    a searched window, is a correction of the map but not part of the random sample."""
    path = Path(path)
    if not path.is_file():
        raise GeotallyError(f"review file not found: {path}")
    review = read_review(path)
    if review.sample is None or review.strata is None:
        raise GeotallyError(f"{path} holds no review sample; start one with 'geotally review RESULTS --sample 200'")
    _check_decisions(review.decisions, path)
    live = current_labels(review.decisions)
    by_det = {r["det_id"]: r for _, r in live[live["action"] != "add"].iterrows()}
    searched = {r["det_id"] for r in by_det.values() if r["action"] == "searched"}
    units = review.sample
    detections: dict = {}
    windows: dict = {}
    for _, s in review.strata.iterrows():
        key = str(s["stratum"])
        if s["unit"] == "detection":
            detections[key] = {"population": int(s["population"]), "outcomes": {}}
        else:
            windows[key] = {"population": int(s["population"]), "misses": []}
    for _, u in units[units["unit"] == "detection"].iterrows():
        d = by_det.get(u["unit_id"])
        if d is None or d["action"] not in ("accept", "reject", "relabel"):
            continue
        outcome = REJECT if d["action"] == "reject" else d["label_class"]
        out = detections[str(u["stratum"])]["outcomes"]
        out[outcome] = out.get(outcome, 0) + 1
    added = live[live["action"] == "add"]
    for _, u in units[units["unit"] == "window"].iterrows():
        if u["unit_id"] not in searched:
            continue
        mine = added[added["sample_unit"] == u["unit_id"]]
        windows[str(u["stratum"])]["misses"].append(mine["label_class"].value_counts().to_dict())
    reviewed = sum(sum(v["outcomes"].values()) for v in detections.values())
    n_win = sum(len(v["misses"]) for v in windows.values())
    if reviewed == 0:
        raise GeotallyError(f"{path}: no sampled detection has been reviewed yet; review some with 'geotally review'")
    scene_sha, model = [], None
    if (path.parent / "summary.json").is_file():
        from geotally.store.summary import read_summary

        summary = read_summary(path.parent)
        scene_sha = [s.sha256 for s in summary.scenes]  # an edited run calibrates nothing
        model = {"name": summary.model.name, "sha256": summary.model.sha256}
    cal = SampleCalibration(detections, windows, scene_sha256=scene_sha, source=str(Path(path).resolve()),
                            source_sha256=file_sha256(path),
                            meta={"reviewed_detections": reviewed, "searched_windows": n_win,
                                  "reviewers": sorted(set(live["reviewer"]) - {""}), "model": model})
    return cal


def _check_decisions(log, path: Path) -> None:
    """Refuse a decisions log that the review app cannot have written (an edited review.gpkg): an unknown
    action, a relabel or addition to a class that is not a vehicle class, a decision id given twice. A
    relabel to 'bicycle' was counted as an outcome of its own and moved the estimate."""
    from geotally.models.classes import VEHICLE_CLASSES
    from geotally.store.review import ACTIONS

    if not len(log):
        return
    ids = log["decision_id"].astype(int)
    if ids.duplicated().any():
        raise GeotallyError(f"{path}: decision {int(ids[ids.duplicated()].iloc[0])} is given twice; the file was "
                            "edited: restore it, or start the review again")
    bad = log[~log["action"].isin(ACTIONS)]
    if len(bad):
        raise GeotallyError(f"{path}: decision {int(bad['decision_id'].iloc[0])} has action {bad['action'].iloc[0]!r}; "
                            f"actions are {', '.join(ACTIONS)}")
    labelled = log[log["action"].isin(["relabel", "add"])]
    bad = labelled[~labelled["label_class"].isin(VEHICLE_CLASSES)]
    if len(bad):
        raise GeotallyError(f"{path}: decision {int(bad['decision_id'].iloc[0])} labels a {bad['label_class'].iloc[0]!r}; "
                            f"classes are {', '.join(VEHICLE_CLASSES)}")
