"""Put a model trained by `geotally train` inside the package, as the shipped default.

Copies the ONNX export and the checkpoint into src/geotally/models/weights/ and writes its
registry entry there with the inference settings chosen on the tune split and the validation
figures from benchmarks/accuracy.py (JSON). Only files made by the project's own training
script belong there.

    python -m scripts.ship_model train-runs/geotally-vehicles-v1/model \
        --conf large_vehicle=0.25,small_vehicle=0.25 --validation bench-out/accuracy-val.json \
        --orientation bench-out/orientation.md      # what made the shipped geotally-vehicles-v1
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from geotally.imagery.checksum import file_sha256

WEIGHTS = Path(__file__).resolve().parents[1] / "src" / "geotally" / "models" / "weights"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="the model/ folder `geotally train` wrote")
    ap.add_argument("--conf", required=True, help="per-class thresholds chosen on the tune split, CLASS=S,...")
    ap.add_argument("--model-gsd", type=float, default=None, help="model GSD chosen on the tune split")
    ap.add_argument("--validation", type=Path, default=None, help="benchmarks/accuracy.py --json output")
    ap.add_argument("--orientation", type=Path, default=None, help="benchmarks/orientation.py output (text)")
    ap.add_argument("--description", default=("YOLOv8n-OBB fine-tuned by scripts/train_default_model.sh on SIMD, KIT "
                                              "Munich (train sequence), Minsk drone frames, the DOTA sample and "
                                              "synthetic crossings, degraded to 0.15-0.6 m"),
                    help="one line for 'models list' (default: v1's)")
    args = ap.parse_args()
    entry = json.loads((args.folder / "entry.json").read_text())
    for key, sha in (("file", "sha256"), ("checkpoint", "checkpoint_sha256")):
        if file_sha256(args.folder / entry[key]) != entry[sha]:
            raise SystemExit(f"{entry[key]} does not match entry.json")
    conf = {k: float(v) for k, v in (kv.split("=") for kv in args.conf.split(","))}
    entry["conf"] = {**conf, "*": max(conf.values())}
    if args.model_gsd:
        entry["native_gsd_m"] = args.model_gsd
    entry["licence"] = "AGPL-3.0 (fine-tuned from Ultralytics YOLOv8n-OBB DOTA-v1)"
    entry["description"] = args.description
    if args.validation:
        entry["validation"] = json.loads(args.validation.read_text())
    if args.orientation:
        entry["orientation"] = args.orientation.read_text()
    entry.setdefault("classes", None)
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    for key in ("file", "checkpoint"):
        shutil.copy2(args.folder / entry[key], WEIGHTS / entry[key])
    (WEIGHTS / f"{entry['name']}.json").write_text(json.dumps(entry, indent=1) + "\n")
    print(f"shipped {entry['name']} ({entry['sha256'][:12]}) in {WEIGHTS}")


if __name__ == "__main__":
    main()
