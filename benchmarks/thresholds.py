"""Choosing a model's inference settings (model GSD, per-class thresholds) on the TUNE split only.

Detects once per (image, GSD, model GSD) at a low score floor, then scores every candidate
threshold on the same detections:
  * large vehicles: recall on the SIMD tune images (labels not exhaustive: recall only) and
    precision on synthetic crossings with exact truth (seeds 30-31, never trained on);
  * small vehicles: precision, recall and count error on the KIT tune frames (exhaustive labels).
Settings are chosen with the default ``--split tune``; ``--split val`` re-measures the same table on
the validation split only to report how the chosen settings hold up (benchmarks/splits/README.md).

    python -m benchmarks.thresholds [--model geotally-vehicles-v1] [--model-gsd 0.2,0.25,0.3]
                                    [--confs 0.1,0.15,0.2,0.25,0.3,0.4] [--gsds 0.15,0.3,0.5]
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.data import degrade_to, load_split, require
from benchmarks.runners import run_geotally
from geotally.training.validate import RADIUS_M, match


def synth_tune(gsds: list[float], work: Path) -> list[tuple[float, Path, np.ndarray, np.ndarray]]:
    from geotally.synth import LayoutParams, SynthParams, write_scene
    from geotally.training.sources import read_vector_folder

    out = []
    for seed in (30, 31):
        for g in gsds:
            folder = work / f"synth{seed}_{g}"
            write_scene(folder, SynthParams(layout=LayoutParams(seed=seed, height_m=600, queue={"TR": 12, "IQ": 20}),
                                            gsd=g), name="scene")
            it = read_vector_folder(folder)[0]
            out.append((g, it.path, it.corners.mean(axis=1), it.cls))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="registered model (default: geotally's default)")
    ap.add_argument("--model-gsd", default="0.2,0.25,0.3")
    ap.add_argument("--confs", default="0.1,0.15,0.2,0.25,0.3,0.35,0.4,0.5")
    ap.add_argument("--gsds", default="0.15,0.3,0.5")
    ap.add_argument("--split", default="tune", choices=("tune", "val"),
                    help="tune: where settings are chosen; val: only to report how the chosen ones hold up")
    args = ap.parse_args()
    require()
    confs = [float(c) for c in args.confs.split(",")]
    gsds = [float(g) for g in args.gsds.split(",")]
    images = load_split(args.split, None)
    kw0 = {"model": args.model} if args.model else {}
    # (model_gsd, conf, gsd, metric) -> [tp, n_truth, n_det]
    t: dict = defaultdict(lambda: [0, 0, 0])
    with tempfile.TemporaryDirectory() as tmp:
        synth = synth_tune(gsds, Path(tmp))
        for g in gsds:
            prepared = [(img, *degrade_to(img, g, Path(tmp))) for img in images]
            for mg in [float(v) for v in args.model_gsd.split(",")]:
                kw = dict(kw0, model_gsd=mg, conf=min(confs))
                for img, path, truth_xy, gsd in prepared:
                    xy, cls, score = run_geotally(path, gsd, kw)
                    for c in confs:
                        for name, want in (("large", "large_vehicle"), ("small", "small_vehicle")):
                            sel = (cls == want) & (score >= c)
                            tsel = img.cls == want
                            key = (mg, c, g, f"{img.dataset}_{name}")
                            t[key][0] += match(xy[sel], score[sel], truth_xy[tsel], RADIUS_M[want] / gsd)
                            t[key][1] += int(tsel.sum())
                            t[key][2] += int(sel.sum())
                for sg, path, truth_xy, tcls in synth:
                    if sg != g:
                        continue
                    import geotally

                    res = geotally.count(path, **kw)
                    det = res.detections
                    inv = ~res.scene.transform
                    xy = np.array([inv * (p.x, p.y) for p in det.geometry.centroid]).reshape(-1, 2)
                    cls, score = det["class"].to_numpy().astype(str), det["score"].to_numpy()
                    for c in confs:
                        sel, tsel = (cls == "large_vehicle") & (score >= c), tcls == "large_vehicle"
                        key = (mg, c, g, "synth_large")
                        t[key][0] += match(xy[sel], score[sel], truth_xy[tsel], RADIUS_M["large_vehicle"] / g)
                        t[key][1] += int(tsel.sum())
                        t[key][2] += int(sel.sum())
    print(f"{args.split} split: {sum(i.dataset == 'simd' for i in images)} SIMD images, "
          f"{sum(i.dataset == 'kit' for i in images)} KIT frames, 2 synthetic scenes per GSD")
    print("| model GSD | conf | GSD | SIMD large recall | synth large precision / recall | SIMD small recall | "
          "KIT small P / R | KIT small count error |")
    print("|---|---|---|---|---|---|---|---|")
    for mg in sorted({k[0] for k in t}):
        for c in confs:
            for g in gsds:
                sl, syn, ks = t[(mg, c, g, "simd_large")], t[(mg, c, g, "synth_large")], t[(mg, c, g, "kit_small")]
                ss = t[(mg, c, g, "simd_small")]
                r = lambda v: v[0] / v[1] if v[1] else float("nan")  # noqa: E731
                p = lambda v: v[0] / v[2] if v[2] else float("nan")  # noqa: E731
                err = (ks[2] - ks[1]) / ks[1] if ks[1] else float("nan")
                print(f"| {mg} | {c} | {g} | {r(sl):.3f} | {p(syn):.3f} / {r(syn):.3f} | {r(ss):.3f} | {p(ks):.3f} / {r(ks):.3f} | {err:+.1%} |")


if __name__ == "__main__":
    main()
