"""What the terminal shows: count tables, a run's queues, borders and claims, progress bars."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from geotally.cli.base import err, out


def _cell(row) -> str:
    """A count, with its estimate and interval where it has one (counts.csv read back leaves those of the
    classes the calibration gives none as empty text: `show` of such a run failed on them)."""
    def number(key: str) -> float:
        try:
            return float(row[key])
        except (KeyError, TypeError, ValueError):
            return float("nan")

    est, lo, hi = number("estimate"), number("lo95"), number("hi95")
    if lo == lo and est == est and hi == hi:
        return f"{row['count']} → {est:.0f} [{lo:.0f}–{hi:.0f}]"
    return str(row["count"])


def print_counts(counts, title: str) -> None:
    """The counts table, one per date when the run has several."""
    dates = list(dict.fromkeys(counts["date"].fillna("").astype(str))) if "date" in counts else [""]
    for d in dates:
        rows_of = counts[counts["date"].fillna("").astype(str) == d] if "date" in counts else counts
        table = Table(title=f"{title}, {d}" if d and len(dates) > 1 else title if not d else f"{title} ({d})")
        table.add_column("zone")
        classes = list(dict.fromkeys(rows_of["class"]))
        for c in classes:
            table.add_column(c, justify="right")
        for zone, rows in rows_of.groupby("zone", sort=False):
            by = {r["class"]: _cell(r) for _, r in rows.iterrows()}
            table.add_row(str(zone), *(by.get(c, "0") for c in classes), style="bold" if zone == "ALL" else None)
        out.print(table)


def print_result(result, out_dir: Path, quiet: bool) -> None:
    """The counts table, queues, border and claims of a count, as the terminal shows them."""
    if quiet:
        return
    summary = result.summary
    corrected = summary.counts_corrected
    labels = summary.scene_labels  # a/scene.tif, b/scene.tif: not "scene.tif, scene.tif"
    names = ", ".join(labels) if len(labels) <= 3 else f"{len(labels)} scenes ({labels[0]} ... {labels[-1]})"
    print_counts(result.counts, f"{names}: vehicles per zone "
                 + ("(estimate [95% interval] from the calibration; raw count first)" if corrected
                    else "(raw, uncorrected: the calibration gives no interval)" if summary.calibration
                    else "(raw, uncorrected: no calibration given)"))
    q = summary.queues
    # lanes side by side are one queue; each lane is a line of queues.gpkg
    n = f"{q.groups} ({q.count} lane lines)" if q.groups is not None and q.groups < q.count else f"{q.count}"
    if q.by_date:  # never added over dates: one line per date
        for d, t in q.by_date.items():
            lanes = f"{t['groups']} ({t['count']} lane lines)" if t["groups"] < t["count"] else f"{t['count']}"
            out.print(f"queues on {d or 'undated scenes'}: {lanes} with {t['vehicles_in_queues']} vehicles; "
                      f"{t['vehicles_elsewhere']} vehicles parked or elsewhere")
    else:
        out.print(f"queues: {n} with {q.vehicles_in_queues} vehicles; "
                  f"{q.vehicles_elsewhere} vehicles parked or elsewhere")
    if summary.roads:
        r = summary.roads
        out.print(f"roads: {r['on_road']} detections on {r['segments']} road segments (counts_by_road.csv)")
    if summary.route:
        r = summary.route
        out.print(f"route: {r['length_km']:.1f} km, {r['observed_km']:.1f} km of it imaged, {r['vehicles_along']} "
                  "vehicles along it (counts_by_route.csv)")
    dropped = sum(s.dropped_in_overlaps for s in summary.scenes)
    joined = sum(s.joined_at_seams for s in summary.scenes)
    if dropped:
        out.print(f"{dropped} detections lie where another scene of the same date sees them better and are counted "
                  "once, from that scene (summary.json: overlap_rule)")
    if joined:
        out.print(f"{joined} vehicles cut by the edge between two scenes of one date are counted once, their two "
                  "pieces joined (summary.json: overlap_rule)")
    if summary.border and summary.border["extended_to_scene_edge"]:
        out.print("border line extended to the scene edge along its end bearings", style="yellow")
    if not summary.georeferenced:
        out.print("the scene has no georeference: outputs are in pixel-space metres, with no WGS84 file and no "
                  "lon/lat", style="yellow")
    cal = summary.calibration or {}
    for text in [*cal.get("warnings", []), *cal.get("no_interval", {}).values()]:
        out.print(f"calibration: {text}", style="yellow")
    sources: dict[str, int] = {}  # where each interval's rates come from, said once after the claims
    for c in summary.claims or []:
        rng = f" against {c['estimate']:.0f} [{c['lo95']:.0f}, {c['hi95']:.0f}]" if "lo95" in c else ""
        when = f" on {c['date']}" if c.get("date") else ""
        cite = f" (rates: {sources.setdefault(c['rates_source'], len(sources) + 1)})" if c.get("rates_source") else ""
        out.print(f"claim {c['zone']}={c['claimed']:g} ({c['class']}){when}: {c['verdict']}{rng}{cite}")
        if c.get("note"):
            out.print(f"  {c['note']}", style="yellow")
    for text, k in sources.items():
        out.print(f"rates {k}: 95% intervals, {text}")
    err.print(f"results written to {out_dir}/")


def say_to(quiet: bool):
    return (lambda msg: None) if quiet else (lambda msg: err.print(msg, style="dim"))


@contextmanager
def progress_bar(quiet: bool):
    """A rich bar of tiles done and raw detections so far, shown from the first progress call (detection's
    start) on. Raw detections are counted before the seam merge and the class thresholds, so they are
    more than the vehicles finally counted; a multi-scene run says which scene it is on."""
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("tiles"),
                        TextColumn("· {task.fields[found]} raw detections (before merge)"), TimeElapsedColumn(),
                        TimeRemainingColumn(), console=err, disable=quiet)
    tasks: list = []  # made at the first call, so the elapsed time is detection's own, not rendering's

    def on_progress(done: int, total: int, found: int, label: str = "detecting") -> None:
        if not tasks:
            tasks.append(progress.add_task(label, total=total, found=0))
            progress.start()
        progress.update(tasks[0], completed=done, total=total, found=found, description=label)

    try:
        yield on_progress
    except BaseException:
        if tasks:  # a failed run shows its one error line: no half bar, no blank line after it
            progress.live.transient = True
            if not err.is_terminal:
                import io

                progress.live.console.file = io.StringIO()
            progress.stop()
            progress.live.console.file = None
            tasks.clear()
        raise
    finally:
        if tasks:  # a bar never started prints nothing
            progress.stop()


def against_truth(table, title: str, keys: tuple[str, ...]) -> Table:
    """A demo's counted-vs-true table: the key columns, then count, truth, error and error %."""
    t = Table(title=title)
    for col in (*keys, "count", "truth", "error", "error %"):
        t.add_column(col, justify="left" if col in keys else "right")
    for row in table.to_dict(orient="records"):
        pct = row["error_pct"]
        pct = "" if pct is None or pct != pct else f"{pct:+.1f}"
        t.add_row(*(str(row[k]) for k in keys), str(row["count"]), str(row["truth"]), f"{row['error']:+d}", pct)
    return t
