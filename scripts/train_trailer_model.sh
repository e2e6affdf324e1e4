#!/usr/bin/env bash
# Reproduces the shipped trailer-type classifier (src/geotally/models/weights/geotally-trailers-v2.*)
# from benchmarks/trailer_labels/types.csv (470 real crops typed by eye; images in ../shared/data)
# and 4,000 synthetic crops. Settings: geotally.training.trailer.TrailerTrainParams defaults (recorded
# in the entry's training.params). About 5 minutes on 2 CPU cores. 2-fold cross-validation by image
# on the real crops goes into the entry (validation) and sets max_gsd_m (0: no GSD passed 0.85).
# To ship: copy the .json and .onnx into src/geotally/models/weights/.
set -euo pipefail
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
geotally train benchmarks/trailer_labels/types.csv --task trailer-type --images "$DATA" \
  --name geotally-trailers-v2 --out "${OUT:-train-runs/trailers}"
