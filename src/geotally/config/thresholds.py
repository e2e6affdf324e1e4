"""Score thresholds: the defaults, the per-class table a run uses, and the floor detection keeps."""

from __future__ import annotations

import json
from pathlib import Path

from geotally.config.defaults import DEFAULT_CONF, DEFAULT_MODEL, SCORE_FLOOR
from geotally.errors import GeotallyError



def same_thresholds(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two per-class threshold tables are the same (as written to JSON and read back)."""
    norm = lambda t: {k: round(float(v), 6) for k, v in t.items()}  # noqa: E731
    return norm(a) == norm(b)


def thresholds_text(t: dict[str, float]) -> str:
    """A threshold table as messages give it: "large_vehicle 0.25, small_vehicle 0.25" (the "*" fallback
    only where it is all there is)."""
    return ", ".join(f"{k} {v:g}" for k, v in t.items() if k != "*") or ", ".join(f"{v:g}" for v in t.values())


def score_floor(thresholds: dict[str, float]) -> float:
    """The score detection keeps: SCORE_FLOOR, or the lowest threshold when that is lower."""
    return min(SCORE_FLOOR, *thresholds.values())


def conf_thresholds(conf: float | dict[str, float] | None) -> dict[str, float]:
    """Per-class score thresholds with a ``"*"`` fallback, validated."""
    if conf is None:
        table = dict(DEFAULT_CONF)
    elif isinstance(conf, dict):
        table = {**DEFAULT_CONF, **conf}
    else:
        table = {k: float(conf) for k in DEFAULT_CONF}
    for k, v in table.items():
        if not 0 < v < 1:
            raise GeotallyError(f"--conf for {k} must be between 0 and 1, got {v}")
    return table


def check_conf_classes(conf, names: dict[int, str]) -> None:
    """A per-class --conf must name classes the model has (or '*'): a typo would silently do nothing."""
    if not isinstance(conf, dict):
        return
    known = set(names.values()) | {"*"}
    unknown = sorted(k for k in conf if k not in known)
    if unknown:
        raise GeotallyError(f"--conf names {', '.join(map(repr, unknown))}, which the model does not have; "
                            f"its classes are {', '.join(sorted(known - {'*'}))}")


def default_model_conf() -> dict[str, float]:
    """The shipped default model's per-class thresholds, read from its registry entry alone (for
    --help, without loading the model registry); the defaults where it has none."""
    entry = Path(__file__).resolve().parent.parent / "models" / "weights" / f"{DEFAULT_MODEL}.json"
    try:
        own = json.loads(entry.read_text()).get("conf") or {}
    except (OSError, ValueError):
        own = {}
    return {**DEFAULT_CONF, **own}
