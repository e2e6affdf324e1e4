"""Is orientation kept? Heading and length errors against oriented truth, per model, side by side.

Oriented truth: the DOTA sample (P0004 trailers, P1888 buses; in the stock checkpoint's training
set and in geotally-vehicles-v1's) area-averaged to 0.3 and 0.5 m, and synthetic crossings with
exact truth (seeds 40-42 by default, `--seeds`; never used for training) rendered at 0.3 and 0.5 m. Detections are
matched to truth by centre (3 m large, 2 m small). Per model and GSD it prints the median and
90th percentile heading error (long axis, degrees, 0-90), the median relative length error, and
the share of all vehicle detections within 5 degrees of the image axes (34% for the stock model
on real scenes; a model that lost orientation puts nearly all there). A model that finds more
vehicles finds harder ones, so the heading error is also given on the truth vehicles that every
model of the run found.

A second table measures the oriented labels `geotally train` derives from axis-aligned boxes:
the same truth is reduced to axis-aligned boxes, oriented again (matched to the stock model's
boxes, else elongated or gradient), and compared with the true angle.

    python -m benchmarks.orientation [--models geotally-vehicles-v1,yolov8n-obb-dota] [--gsds 0.3,0.5] [--seeds 40,41,42]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from benchmarks.data import dota_image, dota_truth
from geotally.training.validate import RADIUS_M


def long_axis(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heading (deg clockwise from image up, 0-180) and length (px) of (n, 4, 2) pixel corners."""
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 1]
    l1, l2 = np.linalg.norm(e1, axis=1), np.linalg.norm(e2, axis=1)
    e = np.where((l1 >= l2)[:, None], e1, e2)
    return np.mod(np.degrees(np.arctan2(e[:, 0], -e[:, 1])), 180.0), np.maximum(l1, l2)


def angle_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.abs(np.mod(a - b, 180.0))
    return np.minimum(d, 180.0 - d)


def truth_sets(gsds: list[float], work: Path, seeds: tuple[int, ...] = (40, 41, 42)) -> list[tuple[str, float, Path, np.ndarray, np.ndarray]]:
    """(name, gsd, image path, truth corners px, truth classes) for DOTA and synthetic scenes."""
    from geotally.synth import SynthParams, write_scene
    from geotally.training.sources import _corners, read_vector_folder

    out = []
    for name in ("P0004", "P1888"):
        t0 = dota_truth(name)
        img = cv2.imread(str(dota_image(name)))
        for g in gsds:
            f = t0.gsd / g
            small = cv2.resize(img, (round(img.shape[1] * f), round(img.shape[0] * f)), interpolation=cv2.INTER_AREA)
            p = work / f"{name}_{g}.png"
            cv2.imwrite(str(p), small)
            out.append((name, g, p, _corners(t0.polygons) * f, t0.cls))
    for seed in seeds:
        for g in gsds:
            from geotally.synth.layout import LayoutParams

            folder = work / f"synth{seed}_{g}"
            write_scene(folder, SynthParams(layout=LayoutParams(seed=seed), gsd=g), name="scene")
            item = read_vector_folder(folder)[0]
            out.append((f"synth{seed}", g, item.path, item.corners, item.cls))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="geotally-vehicles-v1,yolov8n-obb-dota")
    ap.add_argument("--gsds", default="0.3,0.5")
    ap.add_argument("--seeds", default="40,41,42", help="synthetic crossings (training uses 1000 and up)")
    args = ap.parse_args()
    import geotally
    from geotally.training.orient import aabb_of, orient_labels
    from geotally.training.teacher import teacher

    gsds = [float(g) for g in args.gsds.split(",")]
    stats: dict = defaultdict(lambda: {"dh": [], "dl": [], "axis": [], "n": 0, "by_truth": {}})
    derived: dict = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        sets = truth_sets(gsds, Path(tmp), tuple(int(v) for v in args.seeds.split(",")))
        for model in args.models.split(","):
            for name, g, path, tc, tcls in sets:
                kw = {"gsd": g} if path.suffix == ".png" else {}
                res = geotally.count(path, model=model, **kw)
                det = res.detections
                veh = det["class"].isin(["large_vehicle", "small_vehicle"]).to_numpy()
                det = det[veh]
                # Everything in pixels of the image itself (grid convergence would bias map headings).
                import shapely

                inv = ~res.scene.transform
                geo = shapely.get_coordinates(det.geometry.values).reshape(len(det), -1, 2)[:, :4]
                px = np.stack(inv * (geo[..., 0], geo[..., 1]), axis=-1)
                xy = px.mean(axis=1).reshape(-1, 2)
                heading, length_px = long_axis(px) if len(px) else (np.zeros(0), np.zeros(0))
                ax = np.minimum(np.mod(heading, 90.0), 90.0 - np.mod(heading, 90.0)) <= 5.0
                key = (model, "DOTA" if name.startswith("P") else "synthetic", g)
                stats[key]["axis"].extend(ax.tolist())
                th, tl = long_axis(tc)
                tcent = tc.mean(axis=1)
                for cls in ("large_vehicle", "small_vehicle"):
                    sel, tsel = np.flatnonzero(det["class"].to_numpy() == cls), np.flatnonzero(tcls == cls)
                    if not len(sel) or not len(tsel):
                        continue
                    d = np.hypot(xy[sel, None, 0] - tcent[None, tsel, 0], xy[sel, None, 1] - tcent[None, tsel, 1])
                    j = d.argmin(axis=1)
                    ok = d[np.arange(len(sel)), j] <= RADIUS_M[cls] / g
                    err = angle_diff(heading[sel[ok]], th[tsel[j[ok]]])
                    stats[key]["dh"].extend(err.tolist())
                    for t, e in zip(tsel[j[ok]], err):  # the truth vehicle's error (its best match)
                        stats[key]["by_truth"][(name, int(t))] = min(e, stats[key]["by_truth"].get((name, int(t)), 90.0))
                    stats[key]["dl"].extend((np.abs(length_px[sel[ok]] - tl[tsel[j[ok]]]) / tl[tsel[j[ok]]]).tolist())
                    stats[key]["n"] += int(ok.sum())
        det_fn = teacher()
        for name, g, path, tc, tcls in sets:
            if g != gsds[0]:
                continue
            veh = np.isin(tcls, ["large_vehicle", "small_vehicle"])
            box = aabb_of(tc[veh])
            quads = np.stack([box[:, [0, 1]], box[:, [2, 1]], box[:, [2, 3]], box[:, [0, 3]]], axis=1)
            gray = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)
            o = orient_labels(quads, tcls[veh], det_fn(path, g)[:, :5], gray)
            from geotally.detect.boxes import xywhr_to_corners

            dh = angle_diff(long_axis(xywhr_to_corners(o.xywhr))[0], long_axis(tc[veh])[0])
            for how in ("matched", "elongated", "gradient"):
                derived[how].extend(dh[o.how == how].tolist())
            derived["angle 0 (axis-aligned box as is)"].extend(angle_diff(long_axis(quads)[0], long_axis(tc[veh])[0]).tolist())
    # A model that finds more vehicles finds harder ones: compare headings also on the truth
    # vehicles that every model in the run found.
    common = {}
    for (model, kind, g), s in stats.items():
        ids = set(s["by_truth"])
        common[(kind, g)] = common.get((kind, g), ids) & ids
    print("| model | truth | GSD | matched | heading error median / p90 (deg) | same, on the truth every model "
          "found (n) | length error median | detections within 5 deg of the axes |")
    print("|---|---|---|---|---|---|---|---|")
    for (model, kind, g), s in sorted(stats.items()):
        dh, dl = np.array(s["dh"]), np.array(s["dl"])
        both = np.array([s["by_truth"][t] for t in sorted(common[(kind, g)])])
        shared = f"{np.median(both):.1f} / {np.percentile(both, 90):.1f} ({len(both)})" if len(both) else "-"
        print(f"| {model} | {kind} | {g} | {s['n']} | {np.median(dh):.1f} / {np.percentile(dh, 90):.1f} | {shared} | "
              f"{np.median(dl):.1%} | {np.mean(s['axis']):.0%} |")
    print(f"\nDerived orientation of axis-aligned labels (truth at {gsds[0]} m, stock model as the matcher):")
    print("| how | labels | heading error median / p90 (deg) |")
    print("|---|---|---|")
    for how, v in derived.items():
        v = np.array(v)
        if len(v):
            print(f"| {how} | {len(v)} | {np.median(v):.1f} / {np.percentile(v, 90):.1f} |")


if __name__ == "__main__":
    main()
