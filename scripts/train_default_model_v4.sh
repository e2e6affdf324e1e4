#!/usr/bin/env bash
# Reproduces the shipped default model, geotally-vehicles-v4: a fine-tune of geotally-vehicles-v1
# (made by scripts/train_default_model.sh; its checkpoint is in src/geotally/models/weights/) that
# tests one hypothesis. SIMD's annotators boxed few dark cars (16 of the 234 labelled cars of
# val.txt are dark), and v1's dataset masked only the unboxed vehicles that the stock model found
# with a score of 0.4 or more, so the rest were taught as background: v1 misses about 365 real cars
# on the validation images that the stock model finds at native scale. v4 teaches the stock model's
# unboxed detections scoring 0.5 or more (at the image's own scale) as vehicles (--pseudo-score 0.5)
# and masks those of 0.4-0.5; nothing else differs from v1's recipe (same data, exclusions, copies
# and GSD range), 3 epochs from v1's weights. About 10 minutes on 2 CPU cores (2 min preparing 391
# images, 7.5 min training); run again with the same --out to resume. Then, to ship it (settings
# chosen on the tune split, figures from validation):
#   python -m benchmarks.accuracy --split tune --models geotally-vehicles-v4 --no-sahi
#   python -m scripts.eye_check --split tune --gsd 0.3 --model geotally-vehicles-v4      # large, by eye
#   python -m benchmarks.accuracy --split val --models geotally-vehicles-v4,yolov8n-obb-dota \
#       --json bench-out/accuracy-val-v4.json
#   python -m benchmarks.orientation --models geotally-vehicles-v4,geotally-vehicles-v1,yolov8n-obb-dota \
#       > bench-out/orientation.md
#   python -m scripts.ship_model train-runs/geotally-vehicles-v4/model --conf large_vehicle=0.25,small_vehicle=0.25 \
#       --validation bench-out/accuracy-val-v4.json --orientation bench-out/orientation.md --description "..."
set -euo pipefail
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
geotally train "$DATA/simd" "$DATA/kit-munich" "$DATA/minsk-drone" "$DATA/dota-sample" \
  --name geotally-vehicles-v4 --out "${OUT:-train-runs/geotally-vehicles-v4}" \
  --base src/geotally/models/weights/geotally-vehicles-v1.pt \
  --exclude-list "$DATA/simd/val.txt" --exclude-list benchmarks/splits/simd_tune.txt \
  --exclude 'MOS*' --exclude 'MunichStreet02-MOS87' --exclude 'MunichStreet02-MOS88' \
  --exclude 'MunichStreet02-MOS89' --exclude 'MunichStreet02-MOS9*' \
  --synth 6 --model-gsd 0.25 --gsd-range 0.15,0.6 --copies 3 --imgsz 512 --epochs 3 --warmup-epochs 0.3 \
  --batch 16 --pseudo-score 0.5
