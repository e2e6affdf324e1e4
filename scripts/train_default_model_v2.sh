#!/usr/bin/env bash
# Reproduces geotally-vehicles-v2 from ../shared/data: a fine-tune of the shipped v1 checkpoint
# (scripts/train_default_model.sh made it) on the same training images, with two changes:
#   * image GSDs estimated from every labelled car, van, bus and long vehicle (v1 used cars only
#     and fell back to 0.12 m for two thirds of SIMD, whose images are 0.05-0.23 m);
#   * --copies-large 8: five more degraded copies of each image with a large vehicle, keeping only
#     the tiles that hold one (real trucks are about 350 against 10,000 cars).
# Validation images (SIMD val.txt, KIT sequence MOS74-93) and the tune split are excluded, as for v1.
# About 50 minutes on 2 CPU cores (3 epochs of 3,228 tiles); run again with the same --out to resume.
set -euo pipefail
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
geotally train "$DATA/simd" "$DATA/kit-munich" "$DATA/minsk-drone" "$DATA/dota-sample" \
  --name geotally-vehicles-v2 --out "${OUT:-train-runs/geotally-vehicles-v2}" \
  --base src/geotally/models/weights/geotally-vehicles-v1.pt \
  --exclude-list "$DATA/simd/val.txt" --exclude-list benchmarks/splits/simd_tune.txt \
  --exclude 'MOS*' --exclude 'MunichStreet02-MOS87' --exclude 'MunichStreet02-MOS88' \
  --exclude 'MunichStreet02-MOS89' --exclude 'MunichStreet02-MOS9*' \
  --synth 6 --model-gsd 0.25 --gsd-range 0.15,0.6 --copies 3 --copies-large 8 --imgsz 512 --epochs 3 --warmup-epochs 0.3 --batch 16
