"""Changing a threshold on a finished run: `geotally recount` on the stored detections, beside what
a user had to do before (count again with --fresh, detecting every tile again), in one run.

Uses the scenes benchmarks.memory_speed builds (repeated generated border-crossing imagery at
0.15 m); 40000 x 40000 px is the 1.6 gigapixel scene. Each step runs in a fresh process.

    python -m benchmarks.recount [--size 40000] [--workdir /tmp/gt-bench]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-500:]}")
    return time.perf_counter() - t0


def total(out: Path) -> str:
    return "; ".join(line for line in (out / "counts.csv").read_text().splitlines() if line.startswith("ALL,"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=40000)
    ap.add_argument("--workdir", default="/tmp/gt-bench")
    ap.add_argument("--conf", default="0.4", help="the new threshold")
    args = ap.parse_args()
    work = Path(args.workdir)
    subprocess.run([sys.executable, "-m", "benchmarks.memory_speed", "--build-only", "--sizes", str(args.size),
                    "--workdir", str(work)], check=True)
    scene = work / f"scene_{args.size}.tif"
    gt = [sys.executable, "-m", "geotally.cli"]
    out, fresh = work / f"recount_{args.size}", work / f"fresh_{args.size}"
    rows = [("count (first run, detects every tile)", timed(gt + ["count", str(scene), "--out", str(out), "-q",
                                                                 "--fresh"]), total(out))]
    rows.append((f"recount --conf {args.conf} (stored detections)",
                 timed(gt + ["recount", str(out), "--conf", args.conf, "-q"]), total(out)))
    rows.append((f"baseline: count --fresh --conf {args.conf} (detects again)",
                 timed(gt + ["count", str(scene), "--out", str(fresh), "--conf", args.conf, "-q", "--fresh"]),
                 total(fresh)))
    print(f"machine: {os.cpu_count()} cores; scene {args.size} x {args.size} px "
          f"({args.size ** 2 / 1e9:.2f} GP) at 0.15 m")
    print("| step | seconds | counts (ALL rows) |")
    print("|---|---|---|")
    for name, secs, counts in rows:
        print(f"| {name} | {secs:.1f} | {counts} |")


if __name__ == "__main__":
    main()
