"""Start-up cost of the command line, the working tree beside a baseline commit, in one run.

Each of `geotally --version`, `geotally --help` and `python -c "import geotally"` runs ``--runs``
times (default 10) in a fresh process for the working tree's src/ and for a temporary
`git worktree` of ``--ref`` (default 1901c8d, main before the house refactor), alternating between
the two so that a busy machine slows both alike; the same interpreter runs both
(``PYTHONPATH=<tree>/src python -c "from geotally.cli import main; ..."``). Prints the median,
min and max seconds, then the ten heaviest top-level modules `geotally --version` imports in each
tree (``python -X importtime``, cumulative), and which of the heavy libraries it loads at all.
The worktree is removed afterwards. Timings only; nothing is asserted.

    python -m benchmarks.startup [--ref 1901c8d] [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.data import ROOT

CLI = "from geotally.cli import main; import sys; sys.argv = ['geotally', {arg!r}]; main()"
COMMANDS = {
    "geotally --version": CLI.format(arg="--version"),
    "geotally --help": CLI.format(arg="--help"),
    'python -c "import geotally"': "import geotally",
}
HEAVY = ("shapely", "scipy", "pandas", "geopandas", "rasterio", "cv2", "onnxruntime", "pyproj", "pyogrio",
         "torch", "matplotlib", "networkx")


def env_for(src: Path) -> dict[str, str]:
    """The environment that makes ``src`` the geotally a child imports (ahead of the installed one)."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("PYTHONSTARTUP", None)
    return env


def once(code: str, env: dict[str, str]) -> float:
    """Wall seconds of one fresh interpreter running ``code`` (output discarded; a failure stops the run)."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    secs = time.perf_counter() - t0
    if done.returncode not in (0,):
        raise SystemExit(f"{code!r} failed with PYTHONPATH={env['PYTHONPATH']}: {done.stderr.strip()[-400:]}")
    return secs


def import_times(code: str, env: dict[str, str]) -> dict[str, float]:
    """Import seconds per top-level package (``-X importtime``: the self time of all its modules, so no
    package is counted twice) for one run of ``code``, less the packages the bare interpreter loads."""
    def run(c: str) -> dict[str, float]:
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", c], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        out: dict[str, float] = {}
        for line in done.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+\d+ \| \s*(\S+)", line)
            if m:
                root = m.group(2).split(".")[0]
                out[root] = out.get(root, 0.0) + int(m.group(1)) / 1e6
        return out

    bare = run("pass")
    return {k: v for k, v in run(code).items() if k not in bare}


def worktree(ref: str, where: Path) -> Path:
    """A detached git worktree of ``ref`` under ``where``."""
    path = where / f"baseline-{ref}"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(path), ref], check=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ref", default="1901c8d", help="baseline commit or branch")
    ap.add_argument("--runs", type=int, default=10, help="fresh processes per command and tree")
    a = ap.parse_args()
    if a.runs < 1:
        sys.exit("--runs must be at least 1")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True,
                           text=True).stdout.strip()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a killed run still removes its worktree
    with tempfile.TemporaryDirectory(prefix="geotally-startup-") as tmp:
        base = worktree(a.ref, Path(tmp))
        try:
            trees = {f"working tree ({head}{', src changed' if dirty else ''})": env_for(ROOT / "src"),
                     f"baseline {a.ref}": env_for(base / "src")}
            load = os.getloadavg()
            secs: dict[tuple[str, str], list[float]] = {}
            for label, code in COMMANDS.items():
                for tree, env in trees.items():
                    once(code, env)  # warm the file cache once; not counted
                for _ in range(a.runs):
                    for tree, env in trees.items():
                        secs.setdefault((label, tree), []).append(once(code, env))
            imports = {tree: import_times(COMMANDS["geotally --version"], env) for tree, env in trees.items()}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
    after = os.getloadavg()
    print(f"{sys.executable} (Python {sys.version.split()[0]}), {os.cpu_count()} cores; "
          f"load average before {load[0]:.2f}, after {after[0]:.2f}; {a.runs} fresh processes each\n")
    print("| command | tree | median s | min s | max s |")
    print("|---|---|---|---|---|")
    for (label, tree), v in secs.items():
        print(f"| {label} | {tree} | {statistics.median(v):.3f} | {min(v):.3f} | {max(v):.3f} |")
    print("\nWhat `geotally --version` spends importing, per package (-X importtime, self time of all its "
          "modules, one run; the ten heaviest):\n")
    for tree, times in imports.items():
        top = sorted(((v, k) for k, v in times.items()), reverse=True)[:10]
        print(f"{tree}: {sum(times.values()):.3f} s in all; " + ", ".join(f"{k} {v:.3f}" for v, k in top))
    print("\n| heavy library | " + " | ".join(trees) + " |")
    print("|---|" + "---|" * len(trees))
    for lib in HEAVY:
        print(f"| {lib} | " + " | ".join("imported" if lib in imports[t] else "-" for t in trees) + " |")


if __name__ == "__main__":
    main()
