#!/usr/bin/env bash
# Candidate geotally-vehicles-v3: a fine-tune of the shipped v1 checkpoint that tests one
# hypothesis. In v1's training tiles SIMD holds only 26% of the large-vehicle labels (825 of
# 3,152): the three DOTA truck yards give 881, six synthetic crossings 816 and the Minsk drone
# buses 552, so the model learns trucks mostly as yards, renders and nadir buses, not as the
# Google Earth trucks of the validation split. v3 leaves out the DOTA sample and the synthetic
# crossings and adds --copies-large 8 (as v2), so SIMD's own trucks weigh most.
# Same exclusions as v1 (SIMD val.txt and tune split, KIT MOS74-93 and frames 87-93).
# About 35 minutes on 2 CPU cores; run again with the same --out to resume.
set -euo pipefail
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
geotally train "$DATA/simd" "$DATA/kit-munich" "$DATA/minsk-drone" \
  --name geotally-vehicles-v3 --out "${OUT:-train-runs/geotally-vehicles-v3}" \
  --base src/geotally/models/weights/geotally-vehicles-v1.pt \
  --exclude-list "$DATA/simd/val.txt" --exclude-list benchmarks/splits/simd_tune.txt \
  --exclude 'MOS*' --exclude 'MunichStreet02-MOS87' --exclude 'MunichStreet02-MOS88' \
  --exclude 'MunichStreet02-MOS89' --exclude 'MunichStreet02-MOS9*' \
  --model-gsd 0.25 --gsd-range 0.15,0.6 --copies 3 --copies-large 8 --imgsz 512 --epochs 3 --warmup-epochs 0.3 --batch 16
