"""The ranges numeric options must lie in, and the one checker every typed config uses, so that a
bad value is refused with the same one line from the API and the CLI, before any work.

Each limit says why it is there: GSDs outside them either make vehicles smaller than a pixel or
make tiles for every pixel; tile sizes follow the model's stride of 32 pixels.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from dataclasses import fields

from geotally.errors import GeotallyError

GSD_M = (0.005, 2.0)  # finer than a drone frame / coarser: a car is under 2 pixels
MODEL_GSD_M = (0.02, 2.0)
TILE_PX = (64, 4096)
MAX_BATCH = 256
MAX_THREADS = 1024
MAX_TILES = 1_000_000
PORT = (0, 65535)


def check_number(name: str, value, lo: float, hi: float, *, integer: bool = False, what: str | None = None) -> None:
    """Raise a one-line GeotallyError unless ``value`` is a finite number (whole if ``integer``) in [lo, hi].

    ``name`` is the option as the CLI spells it (``--queue-gap``), so both faces give the same line."""
    ok = is_number(value) and math.isfinite(value) and lo <= value <= hi
    if ok and integer:
        ok = float(value).is_integer()
    if not ok:
        kind = what or ("a whole number" if integer else "a number")
        raise GeotallyError(f"{name} must be {kind} from {lo:g} to {hi:g}, got {value!r}")


def is_number(value) -> bool:
    """A real number, numpy's scalars included; not a bool (``True`` is no threshold)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def plain(value):
    """A number as Python's own int or float (numpy's scalars are neither: np.float32 is no float, np.int64
    no int, and JSON takes none of them), a lower-precision float as it prints (np.float32(0.3) is 0.3,
    not 0.30000001192092896); a list or 1-D array of numbers as a tuple of them, the numbers in a
    tuple, list or dict likewise. Anything else unchanged, for the checks to refuse."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if isinstance(value, list) or getattr(value, "ndim", 0) == 1:
        items = [plain(v) for v in value]
        return tuple(items) if all(map(is_number, items)) else items if isinstance(value, list) else value
    if not is_number(value) or type(value) in (int, float):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        return float(str(value))  # numpy prints a float32 as the shortest decimal that reads back as it
    except ValueError:  # a Fraction prints as 1/3
        return float(value)


def set_plain(obj) -> None:
    """Every field of a frozen dataclass holding numbers, in its ``__post_init__``, as :func:`plain`
    makes it."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        new = plain(value)
        if new is not value:
            object.__setattr__(obj, f.name, new)


def whole(value):
    """``value`` as an int where it is a whole number (``2.0``, numpy's ``int64(2)``), else unchanged for
    :func:`check_number` to refuse: a config holds the ints a run needs (``range``, a thread count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return int(value) if math.isfinite(value) and abs(value) <= 2**53 and float(value).is_integer() else value


def set_wholes(obj, *names: str) -> None:
    """Each named field of a frozen dataclass, in its ``__post_init__``, as :func:`whole` makes it."""
    for name in names:
        object.__setattr__(obj, name, whole(getattr(obj, name)))


def check_increasing(name: str, values, lo: float, hi: float) -> None:
    """Every value in [lo, hi] and each larger than the one before."""
    for v in values:
        check_number(name, v, lo, hi)
    if any(b <= a for a, b in zip(values, list(values)[1:])):
        raise GeotallyError(f"{name} must increase, got {','.join(f'{v:g}' for v in values)}")


def check_tile_count(n_tiles: int) -> None:
    """A resampling that would make more than MAX_TILES tiles is a mistake, not a job."""
    if n_tiles > MAX_TILES:
        raise GeotallyError(f"this scene would need {n_tiles:,} tiles at the model's scale (more than {MAX_TILES:,}); "
                            "check --gsd and --model-gsd")


def iso_date(text: str, what: str = "--date") -> str:
    """'2026-06-01' (or '2026-06-01T10:00:00Z') as '2026-06-01'; anything else is a one-line error."""
    try:
        return dt.date.fromisoformat(str(text)[:10]).isoformat()
    except ValueError:
        raise GeotallyError(f"{what} takes a date like 2026-06-01, got {text!r}") from None
