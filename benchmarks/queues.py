"""Queue finding time against vehicle count, beside an all-pairs baseline.

Plants queues of 10 trucks among scattered vehicles (a tenth of them queued) and times
geotally's k-d tree chaining and a plain all-pairs link test (numpy, in blocks) that finds
the same links. The baseline is run only where it finishes in reasonable time.

    python -m benchmarks.queues [--sizes 2000,10000,20000,100000,400000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from geotally.analysis.queues import QueueParams, find_queues, link_pairs


def planted(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n_q = n // 100
    side = np.sqrt(n) * 300.0
    xy, hd, ln = [], [], []
    for _ in range(n_q):
        o, h = rng.uniform(0, side, 2), rng.uniform(0, 180)
        ax = np.array([np.sin(np.radians(h)), np.cos(np.radians(h))])
        for k in range(10):
            xy.append(o + ax * k * 22.0)
            hd.append(h)
            ln.append(17.0)
    rest = n - len(xy)
    return (np.vstack([np.array(xy).reshape(-1, 2), rng.uniform(0, side, (rest, 2))]),
            np.r_[hd, rng.uniform(0, 180, rest)], np.r_[ln, rng.uniform(4, 18, rest)])


def all_pairs_links(xy, hd, ln, p=QueueParams(), block=2000) -> int:
    """Every pair tested, in blocks to bound memory; the same link rule as geotally."""
    n, links = len(xy), 0
    for s in range(0, n, block):
        i = np.arange(s, min(n, s + block))[:, None]
        j = np.arange(n)[None, :]
        d = xy[j] - xy[i]
        dh = np.abs(np.mod(hd[j] - hd[i], 180.0))
        dh = np.minimum(dh, 180 - dh)
        # across and along the pair's mean axis, as geotally does
        a = np.radians(hd[i] * 2.0), np.radians(hd[j] * 2.0)
        h = np.arctan2(np.sin(a[0]) + np.sin(a[1]), np.cos(a[0]) + np.cos(a[1])) / 2.0
        lat = np.abs(d[..., 0] * np.cos(h) - d[..., 1] * np.sin(h))
        along = np.abs(d[..., 0] * np.sin(h) + d[..., 1] * np.cos(h))
        gap = along - (ln[i] + ln[j]) / 2
        ok = (j > i) & (dh <= p.max_turn) & (lat <= p.max_lateral) & (gap <= p.max_gap)
        ok &= gap >= -p.max_overlap_share * np.minimum(ln[i], ln[j])
        links += int(ok.sum())
    return links


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="2000,10000,20000,100000,400000")
    ap.add_argument("--baseline-max", type=int, default=20000)
    args = ap.parse_args()
    print("| vehicles | geotally s | queues found | links (k-d tree) | all-pairs s | links (all pairs) |")
    print("|---|---|---|---|---|---|")
    for n in (int(s) for s in args.sizes.split(",")):
        xy, hd, ln = planted(n)
        t0 = time.perf_counter()
        q = find_queues(xy, hd, ln)
        t_geo = time.perf_counter() - t0
        n_links = len(link_pairs(xy, hd, ln)[0])
        if n <= args.baseline_max:
            t0 = time.perf_counter()
            base_links = all_pairs_links(xy, hd, ln)
            t_base = f"{time.perf_counter() - t0:.2f}"
        else:
            t_base, base_links = "not run", "-"
        print(f"| {n} | {t_geo:.2f} | {len(q.lines)} | {n_links} | {t_base} | {base_links} |", flush=True)


if __name__ == "__main__":
    main()
