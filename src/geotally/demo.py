"""The demo: generate a border crossing with known truth, count it, and compare."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd

from geotally.api import CountResult, count
from geotally.store.outputs import check_out_dir
from geotally.synth import LayoutParams, SynthParams, write_scene

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


def run_demo(out: str | Path, *, gsd: float = 0.15, seed: int = 0, progress: Callable | None = None,
             say: Callable[[str], None] = lambda msg: None) -> tuple[CountResult, pd.DataFrame, dict]:
    """Write a synthetic crossing near Zakho into ``out``, count it per side, and compare with truth."""
    out = check_out_dir(out)
    out.mkdir(exist_ok=True)
    say(f"generating a border crossing at {gsd} m/px (seed {seed})")
    scene = write_scene(out, SynthParams(layout=LayoutParams(seed=seed), gsd=gsd))
    result = count(scene["scene"], zones=scene["sides"], border=scene["border"], sides=("TR", "IQ"), out=out,
                   progress=progress, say=say)
    table = compare(result, scene["counts"])
    table.to_csv(out / "demo_comparison.csv", index=False)
    return result, table, scene
