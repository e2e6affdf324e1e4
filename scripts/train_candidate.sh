#!/usr/bin/env bash
# Train a candidate vehicle model: a fine-tune of a shipped checkpoint on ../shared/data, with the
# exclusions every geotally model keeps (SIMD val.txt and the tune split, KIT sequence MOS74-93 and
# frames MunichStreet02-MOS87-93: benchmarks/splits/README.md) and the fixed part of every recipe since
# v2 (model GSD 0.25 m, GSDs 0.15-0.6 m, 3 degraded copies, 512 px tiles, batch 16, warm-up 0.3 epochs).
# Only what a candidate tests is an option. A shipped model keeps its own recipe beside this script
# (train_default_model*.sh); a candidate that is shipped gets one.
#
#   scripts/train_candidate.sh NAME [options] [-- more `geotally train` options]
#
#   --base MODEL       checkpoint to fine-tune: a shipped model's name or a .pt file [geotally-vehicles-v1]
#   --epochs N         epochs [3]
#   --lr0 X            initial learning rate [geotally train's default]
#   --synth N          synthetic crossings of exact truth, seeds 1000 and up; 0 for none [6]
#   --data A,B,...     folders of $DATA to train on [simd,kit-munich,minsk-drone,dota-sample]
#   --angle-only       train only the head's angle branch (--train-only angle), all else frozen
#   --copies-large N   degraded copies of each image with a large vehicle [none]
#   --pseudo-score X   teach the teacher's unlabelled detections from X as vehicles; none for off [0.5]
#   --dry-run          print the command and run nothing
#   DATA=folder        the data (default ../shared/data); OUT=folder the run (default train-runs/NAME);
#                      run again with the same OUT to resume.
#
# The former candidates, each the exact command its own script ran (none was shipped; README, model cards):
#   v2  scripts/train_candidate.sh geotally-vehicles-v2 --pseudo-score none --copies-large 8        # ~50 min
#   v3  scripts/train_candidate.sh geotally-vehicles-v3 --data simd,kit-munich,minsk-drone --synth 0 \
#         --pseudo-score none --copies-large 8                                                       # ~35 min
#   v5  scripts/train_candidate.sh geotally-vehicles-v5 -- --pseudo-teacher geotally-vehicles-v4    # ~12 min
#   v6  scripts/train_candidate.sh geotally-vehicles-v6 -- --mask-score-large 0.1                   # ~12 min
#   v7  scripts/train_candidate.sh geotally-vehicles-v7 --base geotally-vehicles-v4 --angle-only --synth 12
#   v9  scripts/train_candidate.sh geotally-vehicles-v9 --base geotally-vehicles-v4 --angle-only --synth 12 \
#         --epochs 8 --lr0 0.006                                                                     # ~29 min
#   v10 scripts/train_candidate.sh geotally-vehicles-v10 --base geotally-vehicles-v4 --angle-only --synth 36 \
#         --epochs 8                                                                                 # ~40 min
# (times on 2 CPU cores). Judge a candidate on the tune split and the oriented truth, never on validation:
#   python -m benchmarks.accuracy --split tune --models NAME --no-sahi
#   python -m benchmarks.orientation --models NAME,geotally-vehicles-v8,yolov8n-obb-dota
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 && $1 != -* ]] || usage
name=$1
shift
base=geotally-vehicles-v1 epochs=3 lr0="" synth=6 data=simd,kit-munich,minsk-drone,dota-sample
angle_only=0 copies_large="" pseudo=0.5 dry=0 extra=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --base) base=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --lr0) lr0=$2; shift 2 ;;
    --synth) synth=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --angle-only) angle_only=1; shift ;;
    --copies-large) copies_large=$2; shift 2 ;;
    --pseudo-score) pseudo=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "train_candidate.sh: unknown option $1 (more geotally train options go after --)" >&2; exit 2 ;;
  esac
done
DATA="${DATA:-../shared/data}"
cd "$(dirname "$0")/.."
weights=src/geotally/models/weights
[[ $base == *.pt ]] || base="$weights/$base.pt"
[[ -f $base ]] || { echo "train_candidate.sh: no checkpoint $base" >&2; exit 2; }

cmd=(geotally train)
IFS=, read -ra folders <<< "$data"
for f in "${folders[@]}"; do cmd+=("$DATA/$f"); done
cmd+=(--name "$name" --out "${OUT:-train-runs/$name}" --base "$base")
(( angle_only )) && cmd+=(--train-only angle)
cmd+=(--exclude-list "$DATA/simd/val.txt" --exclude-list benchmarks/splits/simd_tune.txt
      --exclude 'MOS*' --exclude 'MunichStreet02-MOS87' --exclude 'MunichStreet02-MOS88'
      --exclude 'MunichStreet02-MOS89' --exclude 'MunichStreet02-MOS9*')
(( synth > 0 )) && cmd+=(--synth "$synth")
cmd+=(--model-gsd 0.25 --gsd-range 0.15,0.6 --copies 3)
[[ -n $copies_large ]] && cmd+=(--copies-large "$copies_large")
cmd+=(--imgsz 512 --epochs "$epochs" --warmup-epochs 0.3 --batch 16)
[[ $pseudo != none ]] && cmd+=(--pseudo-score "$pseudo")
[[ -n $lr0 ]] && cmd+=(--lr0 "$lr0")
cmd+=("${extra[@]}")
if (( dry )); then printf '%q ' "${cmd[@]}"; echo; else exec "${cmd[@]}"; fi
