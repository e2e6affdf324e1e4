"""Vehicle kinds with dimensions in metres, as seen from above."""

from __future__ import annotations

from dataclasses import dataclass

LARGE, SMALL = "large_vehicle", "small_vehicle"


@dataclass(frozen=True)
class Kind:
    name: str
    cls: str
    length: tuple[float, float]  # range, metres
    width: tuple[float, float]
    height: float  # for shadows


KINDS = {
    k.name: k for k in (
        Kind("tanker", LARGE, (16.0, 18.75), (2.5, 2.55), 3.6),
        Kind("box", LARGE, (16.0, 18.75), (2.5, 2.6), 4.0),
        Kind("flatbed", LARGE, (16.0, 18.75), (2.5, 2.55), 2.6),
        Kind("rigid", LARGE, (10.0, 12.0), (2.45, 2.55), 3.4),
        Kind("bus", LARGE, (11.0, 13.7), (2.5, 2.55), 3.2),
        Kind("tractor", LARGE, (5.8, 7.2), (2.45, 2.55), 3.2),  # a tractor unit without its trailer
        Kind("car", SMALL, (4.2, 4.9), (1.75, 1.9), 1.5),
        Kind("van", SMALL, (4.8, 5.3), (1.9, 2.0), 2.0),
    )
}
TRUCK_KINDS = ("tanker", "box", "flatbed")
