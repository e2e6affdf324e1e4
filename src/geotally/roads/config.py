"""Every roads and routes default, declared once (the CLI reads them without loading shapely)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Carriageway widths in metres by OSM highway class (a dual carriageway counted whole);
# anything else, and files without a highway field, get DEFAULT_WIDTH_M.
ROAD_WIDTH_M = {"motorway": 24.0, "trunk": 14.0, "primary": 11.0, "secondary": 9.0, "tertiary": 7.5,
                "motorway_link": 7.0, "trunk_link": 7.0, "primary_link": 7.0, "secondary_link": 6.5,
                "tertiary_link": 6.5, "unclassified": 6.5, "residential": 6.5, "living_street": 5.0,
                "service": 4.5, "track": 3.5, "road": 7.0, "busway": 7.0}
DEFAULT_WIDTH_M = 14.0  # an unclassified line drawn by an analyst is taken for a main road


@dataclass(frozen=True)
class RoadParams:
    """How vehicles are tied to roads; every default is declared here once (the CLI reads them)."""

    distance_m: float | None = None  # on a road within this distance of its line; None: half its width + margin
    margin_m: float = 4.0  # beyond the half-width: line and imagery misregistration
    widths_m: dict[str, float] = field(default_factory=lambda: dict(ROAD_WIDTH_M))


@dataclass(frozen=True)
class RouteParams:
    """How a route is cut and read; every default declared here once (the CLI reads them)."""

    stretch_km: float = 1.0
    margin_km: float = 5.0  # roads this far beyond the scenes are kept to route between them


