"""The ranges numeric options must lie in, checked before any work so a bad value is one line, not hours.

Each limit says why it is there: GSDs outside them either make vehicles smaller than a pixel or
make tiles for every pixel; tile sizes follow the model's stride of 32 pixels.
"""

from __future__ import annotations

import math

from geotally.errors import GeotallyError

GSD_M = (0.005, 2.0)  # finer than a drone frame / coarser: a car is under 2 pixels
MODEL_GSD_M = (0.02, 2.0)
TILE_PX = (64, 4096)
MAX_BATCH = 256
MAX_TILES = 1_000_000


def _number(name: str, value, lo: float, hi: float, *, integer: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and lo <= value <= hi
    if ok and integer:
        ok = float(value).is_integer()
    if not ok:
        kind = "a whole number" if integer else "a number"
        raise GeotallyError(f"{name} must be {kind} from {lo:g} to {hi:g}, got {value!r}")


def check_count_options(*, gsd=None, model_gsd=None, tile_size=None, overlap=160, batch=4, threads=None,
                        size_thresholds=(6, 10, 14), queue=None, distance_bands=None, workers=1,
                        stationary=None) -> None:
    """Raise a one-line GeotallyError naming the first option out of range."""
    if gsd is not None:
        _number("--gsd", gsd, *GSD_M)
    if model_gsd is not None:
        _number("--model-gsd", model_gsd, *MODEL_GSD_M)
    if tile_size is not None:
        _number("--tile-size", tile_size, *TILE_PX, integer=True)
        if int(tile_size) % 32:
            raise GeotallyError(f"--tile-size must be a multiple of 32 (the model's stride), got {tile_size}")
    _number("--overlap", overlap, 0, (tile_size or TILE_PX[1]) - 1, integer=True)
    _number("--batch", batch, 1, MAX_BATCH, integer=True)
    if threads is not None:
        _number("--threads", threads, 1, 1024, integer=True)
    _number("--workers", workers, 1, 1024, integer=True)
    th = list(size_thresholds)
    for v in th:
        _number("--size-thresholds", v, 0.5, 100)
    if any(b <= a for a, b in zip(th, th[1:])):
        raise GeotallyError(f"--size-thresholds must increase, got {','.join(f'{v:g}' for v in th)}")
    if queue is not None:
        _number("--queue-gap", queue.max_gap, 0.1, 1000)
        _number("--queue-min", queue.min_vehicles, 2, 100000, integer=True)
    if stationary is not None:
        _number("--stationary-radius", stationary.radius_m, 0.1, 20)
    if distance_bands:
        for v in distance_bands:
            _number("--distance-bands", v, 0, 1e7)
        if any(b <= a for a, b in zip(distance_bands, distance_bands[1:])):
            raise GeotallyError("--distance-bands must increase")


def check_tile_count(n_tiles: int) -> None:
    """A resampling that would make more than MAX_TILES tiles is a mistake, not a job."""
    if n_tiles > MAX_TILES:
        raise GeotallyError(f"this scene would need {n_tiles:,} tiles at the model's scale (more than {MAX_TILES:,}); "
                            "check --gsd and --model-gsd")


def check_evaluate_options(*, iou: float, radius: float | None, conf: float) -> None:
    """``evaluate``'s matching options: an IoU and a score are fractions, a radius is metres."""
    _number("--iou", iou, 0.01, 1.0)
    if radius is not None:
        _number("--radius", radius, 0.01, 1000)
    _number("--conf", conf, 0.0, 0.999)
