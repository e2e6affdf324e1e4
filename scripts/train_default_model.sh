#!/usr/bin/env bash
# Reproduces the shipped default model (geotally-vehicles-v1) from ../shared/data.
# Validation images (SIMD val.txt, KIT sequence MOS74-93) and the tune split are excluded.
# About 40 minutes on 2 CPU cores; run again with the same --out to resume.
set -euo pipefail
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
geotally train "$DATA/simd" "$DATA/kit-munich" "$DATA/minsk-drone" "$DATA/dota-sample" \
  --name geotally-vehicles-v1 --out "${OUT:-train-runs/geotally-vehicles-v1}" \
  --exclude-list "$DATA/simd/val.txt" --exclude-list benchmarks/splits/simd_tune.txt \
  --exclude 'MOS*' --exclude 'MunichStreet02-MOS87' --exclude 'MunichStreet02-MOS88' \
  --exclude 'MunichStreet02-MOS89' --exclude 'MunichStreet02-MOS9*' \
  --synth 6 --model-gsd 0.25 --gsd-range 0.15,0.6 --copies 3 --imgsz 512 --epochs 8 --batch 16
