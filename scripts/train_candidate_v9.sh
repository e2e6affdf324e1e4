#!/usr/bin/env bash
# Candidate geotally-vehicles-v9: the shipped v8 recipe (scripts/train_default_model_v8.sh) with a
# three times higher learning rate for the angle branch (--lr0 0.006 against 0.002), to see whether
# the rest of the heading gap to the stock model is under-training. About 29 minutes on 2 CPU cores.
#   python benchmarks/orientation.py --models geotally-vehicles-v9,geotally-vehicles-v8,yolov8n-obb-dota
set -euo pipefail
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
geotally train "$DATA/simd" "$DATA/kit-munich" "$DATA/minsk-drone" "$DATA/dota-sample" \
  --name geotally-vehicles-v9 --out "${OUT:-train-runs/geotally-vehicles-v9}" \
  --base src/geotally/models/weights/geotally-vehicles-v4.pt --train-only angle \
  --exclude-list "$DATA/simd/val.txt" --exclude-list benchmarks/splits/simd_tune.txt \
  --exclude 'MOS*' --exclude 'MunichStreet02-MOS87' --exclude 'MunichStreet02-MOS88' \
  --exclude 'MunichStreet02-MOS89' --exclude 'MunichStreet02-MOS9*' \
  --synth 12 --model-gsd 0.25 --gsd-range 0.15,0.6 --copies 3 --imgsz 512 --epochs 8 --warmup-epochs 0.3 \
  --batch 16 --pseudo-score 0.5 --lr0 0.006
