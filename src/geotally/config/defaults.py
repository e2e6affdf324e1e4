"""The defaults that several stages share, declared once: the shipped models' names, score
thresholds, tiling, size classes and evaluation matching. A leaf: it imports nothing."""

from __future__ import annotations

# The newest shipped vehicle detector (a fresh install counts offline with it) and trailer classifier.
DEFAULT_MODEL = "geotally-vehicles-v8"
DEFAULT_TRAILER_MODEL = "geotally-trailers-v2"
STOCK_MODEL = "yolov8n-obb-dota"  # the stock checkpoint, the default when no geotally model is shipped

# Score thresholds, chosen by measurement (best F1 per class on labelled DOTA images at 0.13-0.5 m/px);
# a registered model may carry its own (its registry entry's ``conf``).
DEFAULT_CONF = {"large_vehicle": 0.10, "small_vehicle": 0.25, "*": 0.25}
# Detections are kept down to this score (or the lowest --conf, if lower) and thresholded per class
# afterwards, so that --conf can change on a finished run without detecting again.
SCORE_FLOOR = 0.10

# Tiling, in model pixels: a model without a declared tile size gets TILE_SIZE; OVERLAP is longer
# than a truck at the model's scale, so every truck lies whole in some tile.
TILE_SIZE = 1024
OVERLAP = 160
BATCH = 4
MODEL_IOU = 0.7  # the model's own NMS
SEAM_IOU = 0.3  # merging the same vehicle seen in two tiles

# geotally's vehicle classes (every model's own names map to these), and the trailer types of large vehicles.
VEHICLE_CLASSES = ("large_vehicle", "small_vehicle")
TRAILER_TYPES = ("tanker", "box", "flatbed_or_container", "bus", "other")

# Vehicle length classes, metres: car < 6 <= van/light truck < 10 <= rigid truck < 14 <= articulated.
SIZE_CLASSES = ("car", "van_light_truck", "rigid_truck", "articulated")
SIZE_THRESHOLDS = (6.0, 10.0, 14.0)
# A claim may count a size class, or "heavy": rigid trucks and articulated vehicles, 10 m and longer.
HEAVY = "heavy"
CLAIM_SIZE_CLASSES = (*SIZE_CLASSES, HEAVY)

# evaluate: a detection matches a label at this rotated IoU; precision, recall and count error use
# detections from this score (AP uses every score).
MATCH_IOU = 0.5
MATCH_CONF = 0.0

# The review app is served on 127.0.0.1 only, on this port unless told another.
REVIEW_PORT = 8765
