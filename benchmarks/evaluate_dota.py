"""`geotally count` then `geotally evaluate` on the DOTA sample at native GSD and degraded to 0.3 and 0.5 m.

Runs the CLI the way a user would: for each GSD, writes each image (area-averaged) and its
labelTxt (coordinates scaled with it) to a work folder, counts each image, then evaluates all
results of that GSD against the label folder in one call. Prints each evaluation's table.

    python -m benchmarks.evaluate_dota [--workdir /tmp/gt-dota-eval]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2

from benchmarks.data import DOTA, dota_image, dota_label, require

IMAGES = ("P0004", "P1888", "P0706")


def label_gsd(text: str) -> float:
    return float(next(line for line in text.splitlines() if line.startswith("gsd:")).split(":")[1])


def scaled_labels(text: str, factor: float, gsd: float) -> str:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("gsd:"):
            out.append(f"gsd:{gsd}")
        elif len(parts) >= 9 and not line.startswith("imagesource"):
            out.append(" ".join([f"{float(v) * factor:.1f}" for v in parts[:8]] + parts[8:]))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/gt-dota-eval")
    args = ap.parse_args()
    require(DOTA, "the shared DOTA sample")
    work = Path(args.workdir)
    cli = [sys.executable, "-m", "geotally.cli"]
    for target in ("native", "0.3", "0.5"):
        folder = work / target
        (folder / "labelTxt").mkdir(parents=True, exist_ok=True)
        results = []
        for name in IMAGES:
            text = dota_label(name).read_text()
            g0 = label_gsd(text)
            gsd = g0 if target == "native" else float(target)
            f = g0 / gsd
            img = cv2.imread(str(dota_image(name)))
            if f != 1.0:
                img = cv2.resize(img, (round(img.shape[1] * f), round(img.shape[0] * f)), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(folder / f"{name}.png"), img)
            (folder / "labelTxt" / f"{name}.txt").write_text(scaled_labels(text, f, gsd))
            out = folder / f"result_{name}"
            subprocess.run(cli + ["count", str(folder / f"{name}.png"), "--gsd", str(gsd), "--out", str(out), "-q"],
                           check=True)
            results.append(str(out))
        report = folder / "evaluation.json"
        print(f"\n## {target} ({'labelled GSD' if target == 'native' else target + ' m/px'})", flush=True)
        subprocess.run(cli + ["evaluate", *results, str(folder / "labelTxt"), "-o", str(report)], check=True)
        data = json.loads(report.read_text())
        for row in data["per_image"]:
            print(f"  {row['image']} {row['class']}: truth {row['n_truth']} detected {row['n_detected']} "
                  f"P {row['precision']} R {row['recall']} AP50 {row['ap50']} count error {row['count_error']:+d}")


if __name__ == "__main__":
    main()
