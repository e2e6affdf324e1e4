"""The synthetic scene's defaults, declared once: the layout of the place and how it is rendered
(read by ``geotally synth`` and ``geotally demo`` without loading the renderer)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from geotally.config.limits import check_number, is_number
from geotally.errors import GeotallyError


@dataclass(frozen=True)
class LayoutParams:
    width_m: float = 400.0
    height_m: float = 1000.0
    queue: dict = field(default_factory=lambda: {"TR": 18, "IQ": 32})  # trucks queuing, per side
    depot: dict = field(default_factory=lambda: {"IQ": 12})  # trucks parked in a depot, per side
    cars_road: int = 24
    cars_park: int = 20
    mix: tuple[float, float, float] = (0.4, 0.35, 0.25)  # tanker, box, flatbed
    sides: tuple[str, str] = ("TR", "IQ")  # north, south
    seed: int = 0  # fixes the place: road, border, lots
    date_index: int = 0  # varies the vehicles on the same place
    depot_capacity: dict | None = None  # lot size per side; defaults to the depot counts
    queue_lanes: int = 2  # lanes of trucks per side, inner first; beyond 2 they stand on the shoulder and verge
    road_curve: float = 0.0  # > 0: a smooth S-bend instead of the one kink, swinging this share of the width

    def validate(self) -> None:
        """One-line error for a layout that cannot be drawn (the same from synth and the API)."""
        check_number("--width-m", self.width_m, 20, 50_000, what="metres")
        check_number("--height-m", self.height_m, 20, 100_000, what="metres")
        for what, counts in (("--queue", self.queue), ("--depot", self.depot),
                             ("depot_capacity", self.depot_capacity or {})):
            for side, n in counts.items():
                if side not in self.sides:  # a misspelt side would otherwise be dropped without a word
                    raise GeotallyError(f"{what}: {side!r} is not a side of the scene; the sides are "
                                        f"{' and '.join(self.sides)} (north first), like "
                                        f"{self.sides[0]}=18,{self.sides[1]}=32")
                check_number(f"{what} {side}", n, 0, 100_000, integer=True)
        check_number("--cars", self.cars_road, 0, 100_000, integer=True)
        check_number("--parked", self.cars_park, 0, 100_000, integer=True)
        try:
            mix = tuple(self.mix)
        except TypeError:
            mix = (self.mix,)
        if (len(mix) != 3 or not all(is_number(v) and math.isfinite(v)
                                     and v >= 0 for v in mix) or sum(mix) <= 0):
            raise GeotallyError("--mix takes three finite, non-negative shares (tanker, box, flatbed) that add up "
                                f"to more than 0, like 0.4,0.35,0.25; got {','.join(map(str, mix))}")
        check_number("--seed", self.seed, 0, 2**32 - 1, integer=True)


@dataclass(frozen=True)
class SynthParams:
    layout: LayoutParams = field(default_factory=LayoutParams)
    gsd: float = 0.15
    sun_azimuth: float = 140.0
    sun_elevation: float = 62.0  # mid-morning in summer at 37 N
    haze: float = 0.0  # 0..1 blend towards a bright, low-contrast veil
    jpeg_quality: int | None = None  # compression artefacts when set
    blur_px: float = 0.45  # optical blur sigma in output pixels
    noise: float = 0.012
    sharpen: float = 0.3
    noise_seed: int = 0
    date: str | None = None

    def validate(self) -> None:
        """One-line error for a value out of range (the same from synth, demo and the API)."""
        self.layout.validate()
        check_number("--gsd", self.gsd, 0.15, 1.0, what="metres")
        check_number("--haze", self.haze, 0, 1)
        if self.jpeg_quality is not None:
            check_number("--jpeg-quality", self.jpeg_quality, 5, 100, integer=True)
        check_number("--sun-azimuth", self.sun_azimuth, 0, 360, what="degrees")
        check_number("--sun-elevation", self.sun_elevation, 10, 90, what="degrees")
        pixels = (self.layout.width_m / self.gsd) * (self.layout.height_m / self.gsd)
        if pixels > MAX_PIXELS:
            raise GeotallyError(f"a synthetic scene of {self.layout.width_m:g} x {self.layout.height_m:g} m at "
                                f"{self.gsd:g} m/px would have {pixels:,.0f} pixels (at most {MAX_PIXELS:,}); "
                                "give a smaller --width-m/--height-m or a coarser --gsd")


# A generated scene is rendered in memory: 400 MP (about 1.2 GB of RGB) at most.
MAX_PIXELS = 400_000_000

# A series of dates starts here, in weekly steps.
SERIES_START = "2026-06-01"

# The closure demo: a weekly series in which the border closes and reopens.
CLOSURE_DEFAULTS = {"dates": 6, "start": SERIES_START, "closure": "2026-06-15", "reopen": "2026-07-01", "gsd": 0.3}
