"""evaluate and calibrate: how good the counts are, and the calibration that corrects them."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from geotally.api import DEFAULT_GROUP
from geotally.cli.base import app, err, out
from geotally.cli.options import parse_floats
from geotally.config.defaults import MATCH_CONF, MATCH_IOU
from geotally.errors import GeotallyError


@app.command("evaluate")
def evaluate_cmd(
    paths: List[Path] = typer.Argument(..., metavar="DETECTIONS... TRUTH", help="DETECTIONS... TRUTH: one or more detections files or results folders, then the truth: GeoJSON/GeoPackage polygons or points, a DOTA labelTxt folder, or a YOLO label folder."),
    iou: Optional[float] = typer.Option(None, "--iou", help=f"Rotated IoU for a match (default: {MATCH_IOU:g})."),
    radius: Optional[float] = typer.Option(None, "--radius", help="Match centres within this many metres instead of IoU (automatic for point truth)."),
    conf: float = typer.Option(MATCH_CONF, "--conf", help="Score threshold for precision, recall and count error (AP uses all)."),
    zones: Optional[Path] = typer.Option(None, "--zones", help="Zone polygons: adds count errors per zone."),
    out_file: Path = typer.Option(Path("evaluation.json"), "--out", "-o", help="JSON report."),
    force: bool = typer.Option(False, "--force", help="Replace the report if it exists."),
) -> None:
    """Score detections against labelled truth: precision, recall, F1, AP50 and count error per class and image."""
    from rich.table import Table

    from geotally.api import evaluate

    if len(paths) < 2:
        raise GeotallyError("evaluate takes one or more DETECTIONS and then the TRUTH")
    if radius is not None and iou is not None:
        raise GeotallyError("--radius and --iou cannot be used together (--radius would override --iou); give one")
    report = evaluate(paths[:-1], paths[-1], iou=MATCH_IOU if iou is None else iou, radius_m=radius, conf=conf,
                      zones=zones, out=out_file, force=force)
    table = Table(title=f"evaluation against {paths[-1].name}")
    for col in ("class", "truth", "found", "P", "R", "F1", "AP50", "count error"):
        table.add_column(col, justify="left" if col == "class" else "right", no_wrap=True)
    fmt = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
    for cls, r in report["per_class"].items():
        rel = f" ({r['count_error_rel']:+.1%})" if r["count_error_rel"] is not None else ""
        table.add_row(cls, str(r["n_truth"]), str(r["n_detected"]), fmt(r["precision"]), fmt(r["recall"]),
                      fmt(r["f1"]), fmt(r["ap50_mean_over_images"]), f"{r['count_error']:+d}{rel}")
    out.print(table)
    for z in report["per_zone"]:
        rel = f" ({z['count_error_rel']:+.1%})" if z["count_error_rel"] is not None else ""
        out.print(f"  {z['image']} {z['zone']} {z['class']}: {z['n_detected']} found, {z['n_truth']} true, "
                  f"error {z['count_error']:+d}{rel}")
    if report.get("note"):
        out.print(f"note: {report['note']}", style="yellow")
    err.print(f"report written to {out_file}")


@app.command("calibrate")
def calibrate_cmd(
    evaluation: Path = typer.Argument(..., metavar="EVALUATION|REVIEW", help="evaluation.json from 'geotally evaluate' on labelled images like the ones to count, or RESULTS/review.gpkg from a 'geotally review --sample'."),
    out_file: Path = typer.Option(Path("calibration.json"), "--out", "-o", help="Calibration file for 'count --calibration'."),
    force: bool = typer.Option(False, "--force", help="Replace the calibration file if it exists."),
    group: Optional[str] = typer.Option(DEFAULT_GROUP, "--group", metavar="REGEX", help="Scene group of each labelled image, from its name (the regex's first group): intervals carry the spread of the rates between groups, and none is given with fewer than 3 groups. The default strips a trailing frame number (MOS74 -> MOS). --group '' treats every image as a scene of its own."),
    gsd: Optional[str] = typer.Option(None, "--gsd", metavar="MIN[,MAX]", help="GSD in metres of the labelled imagery; count warns outside it."),
    sensor: Optional[str] = typer.Option(None, "--sensor", help="Sensor or source of the labelled imagery (recorded, shown by count)."),
    kind: Optional[str] = typer.Option(None, "--kind", help="Kind of scene (urban street, border crossing, ...), recorded and shown by count."),
) -> None:
    """Turn an evaluation, or a reviewed sample of the scene itself, into a calibration for count intervals."""
    from rich.table import Table

    from geotally.api import calibrate

    cal = calibrate(evaluation, out=out_file, force=force, group=group, gsd=parse_floats(gsd, "--gsd") if gsd else None,
                    sensor=sensor, kind=kind)
    if evaluation.suffix.lower() == ".gpkg":
        m = cal.meta
        out.print(f"review sample: {m['reviewed_detections']} detections reviewed, {m['searched_windows']} windows searched")
        table = Table(title="this scene's true counts from the review sample (estimate [95% interval])")
        for col in ("zone", "class", "estimate", "95% interval", "detection rate", "false per true"):
            table.add_column(col, justify="left" if col in ("zone", "class") else "right", no_wrap=True)
        zones = sorted({k.split("|", 1)[0] for k in (*cal.detections, *cal.windows)})
        for cls in cal.classes():
            r, f = cal.rates(cls)
            for zone in [None, *zones]:
                e, lo, hi = cal.estimate(zone, cls)
                rate = (f"{r:.3f}", f"{f:.3f}") if zone is None else ("", "")
                table.add_row(zone or "ALL", cls, f"{e:.0f}", f"[{lo:.0f}, {hi:.0f}]", *rate)
        out.print(table)
        err.print(f"calibration written to {out_file} (it applies to this scene only: "
                  f"geotally recount {evaluation.parent} --calibration {out_file})")
        return
    for cls, c in cal.classes.items():
        r, f = c.rates()
        why = cal.no_interval(cls)
        out.print(f"{cls}: {len(c.n_truth)} labelled images in {c.n_groups()} scene groups, {sum(c.n_truth)} vehicles; "
                  f"detection rate {r:.3f}, false positives per true vehicle {f:.3f}"
                  + (f"; {why}" if why else ""))
    err.print(f"calibration written to {out_file}")
