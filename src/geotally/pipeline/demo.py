"""The demo: generate a border crossing with known truth, count it, and compare."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from geotally.config.count import CountConfig
from geotally.pipeline.result import CountResult
from geotally.pipeline.run import run_count
from geotally.store.outputs import check_out_dir, run_lock, write_csv
from geotally.config.synth import CLOSURE_DEFAULTS, LayoutParams, SynthParams
from geotally.synth import write_scene

COMPARISON_COLUMNS = ["side", "class", "count", "truth", "error", "error_pct"]


def compare(result: CountResult, truth: dict[str, dict[str, int]]) -> pd.DataFrame:
    """Counted against true vehicles per side and vehicle class, with totals."""
    got = result.counts.set_index(["zone", "class"])["count"]
    rows = []
    sides = list(truth) + ["ALL"]
    for side in sides:
        for cls in ("large_vehicle", "small_vehicle"):
            true = sum(t.get(cls, 0) for t in truth.values()) if side == "ALL" else truth[side].get(cls, 0)
            n = int(got.get((side, cls), 0))
            rows.append((side, cls, n, true, n - true, round(100.0 * (n - true) / true, 1) if true else None))
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def run_demo(out: str | Path, *, gsd: float = SynthParams.gsd, seed: int = 0, progress: Callable | None = None,
             say: Callable[[str], None] = lambda msg: None) -> tuple[CountResult, pd.DataFrame, dict]:
    """Write a synthetic crossing near Zakho into ``out``, count it per side, and compare with truth."""
    params = SynthParams(layout=LayoutParams(seed=seed), gsd=gsd)
    params.validate()
    out = check_out_dir(out)
    # one demo at a time in a folder: a second one rewrote the scene under the first one's count
    with run_lock(out):
        out.mkdir(exist_ok=True)
        say(f"generating a border crossing at {gsd} m/px (seed {seed})")
        scene = write_scene(out, params)
        # the scene is made anew each time: its count starts over too (a resume would refuse another seed's)
        cfg = CountConfig(zones=scene["sides"], border=scene["border"], sides=("TR", "IQ"), fresh=True)
        result = run_count([scene["scene"]], out, cfg, progress, say)
        table = compare(result, scene["counts"])
        write_csv(out / "demo_comparison.csv", table)
    return result, table, scene


def run_closure_demo(out: str | Path, *, gsd: float = CLOSURE_DEFAULTS["gsd"], seed: int = 0, dates: int = CLOSURE_DEFAULTS["dates"],
                     start: str = CLOSURE_DEFAULTS["start"], closure: str = CLOSURE_DEFAULTS["closure"],
                     reopen: str | None = CLOSURE_DEFAULTS["reopen"], progress: Callable | None = None,
                     say: Callable[[str], None] = lambda msg: None) -> tuple[CountResult, pd.DataFrame, dict]:
    """The closure scenario end to end: a weekly series in which the border closes and reopens,
    counted in one multi-date run, per date and side against the truth, and the detected change
    point (largest step of the trucks in all zones) against the true one (the first imaged date
    on or after the closure)."""
    import datetime as dt

    from geotally.analysis.change import change_point, series
    from geotally.synth import series_params

    base = SynthParams(layout=LayoutParams(seed=seed), gsd=gsd)
    base.validate()
    out = check_out_dir(out)
    out.mkdir(exist_ok=True)
    scenes_dir = out / "scenes"
    say(f"generating {dates} weekly scenes at {gsd} m/px from {start}: closed {closure}"
        + (f", reopened {reopen}" if reopen else ""))
    runs = series_params(base, dates, start, closure=closure,
                         reopen=reopen)
    written = [write_scene(scenes_dir, p, name=f"scene_{p.date}") for p in runs]
    cfg = CountConfig(zones=written[0]["sides"], border=written[0]["border"], sides=("TR", "IQ"))
    result = run_count([w["scene"] for w in written], out / "results", cfg, progress, say)
    rows = []
    for w in written:
        part = result.counts[result.counts["date"] == w["date"]]
        got = part.set_index(["zone", "class"])["count"]
        for side in list(w["counts"]) + ["ALL"]:
            true = sum(t.get("large_vehicle", 0) for t in w["counts"].values()) if side == "ALL" \
                else w["counts"][side].get("large_vehicle", 0)
            n = int(got.get((side, "large_vehicle"), 0))
            rows.append((w["date"], side, n, true, n - true, round(100.0 * (n - true) / true, 1) if true else None))
    table = pd.DataFrame(rows, columns=["date", "side", "count", "truth", "error", "error_pct"])
    table.to_csv(out / "closure_comparison.csv", index=False)
    found = change_point(series(result.counts))
    first_closed = next(p.date for p in runs if dt.date.fromisoformat(p.date) >= dt.date.fromisoformat(closure))
    verdict = {"detected_from": found["from"] if found else None, "detected_to": found["to"] if found else None,
               "detected_difference": found["difference"] if found else None, "closure": closure,
               "true_change_point": first_closed, "matches": bool(found and found["to"] == first_closed)}
    return result, table, verdict
