#!/usr/bin/env bash
# Reproduces the shipped default model (geotally-vehicles-v1) from ../shared/data.
# Validation images (SIMD val.txt, KIT sequence MOS74-93) and the tune split are excluded.
# About 1 hour on 2 CPU cores (3.7 min preparing, 55 min for 8 epochs); run again with the same
# --out to resume. Then, to ship it (settings chosen on the tune split, figures from validation):
#   python -m benchmarks.thresholds --model geotally-vehicles-v1            # tune split
#   python -m scripts.eye_check --split tune --conf 0.1 --gsd 0.3           # by-eye precision, tune
#   python -m benchmarks.accuracy --split val --json bench-out/accuracy-val.json
#   python -m benchmarks.orientation > bench-out/orientation.md
#   python -m scripts.ship_model train-runs/geotally-vehicles-v1/model \
#       --conf large_vehicle=0.25,small_vehicle=0.25 --validation bench-out/accuracy-val.json \
#       --orientation bench-out/orientation.md
set -euo pipefail
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
geotally train "$DATA/simd" "$DATA/kit-munich" "$DATA/minsk-drone" "$DATA/dota-sample" \
  --name geotally-vehicles-v1 --out "${OUT:-train-runs/geotally-vehicles-v1}" \
  --exclude-list "$DATA/simd/val.txt" --exclude-list benchmarks/splits/simd_tune.txt \
  --exclude 'MOS*' --exclude 'MunichStreet02-MOS87' --exclude 'MunichStreet02-MOS88' \
  --exclude 'MunichStreet02-MOS89' --exclude 'MunichStreet02-MOS9*' \
  --synth 6 --model-gsd 0.25 --gsd-range 0.15,0.6 --copies 3 --imgsz 512 --epochs 8 --batch 16
