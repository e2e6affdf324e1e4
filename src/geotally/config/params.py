"""The parameters of single steps, each default declared once: roads, routes, queues, stationary
vehicles, trailer types and review samples. A leaf: the CLI reads them without loading any algorithm."""

from __future__ import annotations

from dataclasses import dataclass, field

from geotally.config.defaults import DEFAULT_TRAILER_MODEL
from geotally.config.limits import check_number, is_number, set_plain, set_wholes
from geotally.errors import GeotallyError

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

    def __post_init__(self) -> None:
        set_plain(self)

    def validate(self) -> None:
        """One-line error for a value out of range (the CLI and the API give the same line)."""
        if self.distance_m is not None:
            check_number("--road-distance", self.distance_m, 0.1, 1000, what="metres")
        check_number("road margin_m", self.margin_m, 0, 1000, what="metres")
        for name, w in self.widths_m.items():
            check_number(f"road width of {name!r}", w, 0.5, 200, what="metres")


@dataclass(frozen=True)
class RouteParams:
    """How a route is cut and read; every default declared here once (the CLI reads them)."""

    stretch_km: float = 1.0
    margin_km: float = 5.0  # roads this far beyond the scenes are kept to route between them

    def __post_init__(self) -> None:
        set_plain(self)

    def validate(self) -> None:
        """One-line error for a value out of range."""
        check_number("--route-stretch", self.stretch_km, 0.01, 1000, what="km")
        check_number("route margin_km", self.margin_km, 0, 1000, what="km")


@dataclass(frozen=True)
class QueueParams:
    max_gap: float = 25.0  # metres between the back of one vehicle and the front of the next
    max_turn: float = 20.0  # degrees between headings
    max_lateral: float = 2.0  # metres off each vehicle's own axis
    # Boxes in line may overlap and still link, up to this share of the shorter one's length: a truck
    # detected twice, split into cab and trailer, or boxed a few metres long still stands in its
    # queue. (At 2 m, the bound before, a queue of 12,000 generated trucks broke into pieces under
    # min_vehicles at every such pair, and 9.4% of its trucks were left out.)
    max_overlap_share: float = 1.0
    # Five to seven vehicles stand head to tail by chance in any car park or yard (on SIMD's tune
    # images every such chain was one); a queue an analyst asks about is longer. --queue-min 5 finds
    # short queues at junctions, with those chance chains.
    min_vehicles: int = 8
    side_reach: float = 6.0  # metres across within which a parallel vehicle stands "beside" another
    max_blocked: float = 0.5  # a chain with more of its vehicles hemmed in on both sides is a lot, not a queue
    max_winding: float = 1.3  # chain length through its vehicles over the distance between its ends
    # Stationary vehicles stand a few metres apart (bumper to bumper, or a truck's length of brake
    # distance at most); moving traffic keeps about a second's headway, over 8 m at 30 km/h. A chain
    # with more than a quarter of its gaps wider is traffic passing, not a queue (a few holes up to
    # max_gap, where the detector missed a vehicle, still do not break one). A median would let
    # passing traffic through wherever two cars happen to be close or one is detected twice.
    standing_gap: float = 8.0
    max_wide_share: float = 0.25
    # Lanes of one queue stand side by side, so a queue of three or more lanes is hemmed in like a
    # car park; but it runs far longer than it is wide. A hemmed-in chain is still a queue when it
    # runs at least this many times the width of the row of vehicles abreast of it.
    lane_aspect: float = 6.0
    # ...but only for trucks and buses (a chain's median length at least this, the rigid-truck size
    # class): a car park with aisles, three bays wide and deep, is such a block of cars. Lanes of
    # cars three abreast are found only where a road map is given, and only when each lane holds
    # min_vehicles: a queue at traffic lights two or three cars deep is found by no rule here.
    lane_min_length: float = 10.0
    lane_width: float = 3.5  # metres one vehicle's lane adds to the width of a row abreast

    def __post_init__(self) -> None:
        set_plain(self)
        set_wholes(self, "min_vehicles")

    def validate(self) -> None:
        """One-line error for a value out of range."""
        check_number("--queue-gap", self.max_gap, 0.1, 1000)
        check_number("--queue-min", self.min_vehicles, 2, 100000, integer=True)
        for name in ("max_turn", "max_lateral", "max_overlap_share", "side_reach", "max_blocked", "max_winding",
                     "standing_gap", "max_wide_share", "lane_aspect", "lane_min_length", "lane_width"):
            check_number(f"queue {name}", getattr(self, name), 0, 1000)


@dataclass(frozen=True)
class StationaryParams:
    """What counts as the same spot on two dates; every default declared here once."""

    radius_m: float = 1.5  # centres this close after registration (a car is about 1.8 m wide)
    heading_deg: float = 15.0  # axes this close, either direction
    length_ratio: float = 1.35  # longer over shorter length at most this
    search_m: float = 12.0  # registration: offsets searched up to this far
    bin_m: float = 0.5  # registration: histogram bin of the offsets
    min_support: int = 6  # registration: pairs that must agree on the offset for it to be applied

    def __post_init__(self) -> None:
        set_plain(self)
        set_wholes(self, "min_support")

    def validate(self) -> None:
        """One-line error for a value out of range."""
        check_number("--stationary-radius", self.radius_m, 0.1, 20)
        check_number("stationary heading_deg", self.heading_deg, 0, 90)
        check_number("stationary length_ratio", self.length_ratio, 1, 10)
        check_number("stationary search_m", self.search_m, 0, 1000)
        check_number("stationary bin_m", self.bin_m, 0.01, 100)
        check_number("stationary min_support", self.min_support, 1, 100000, integer=True)


@dataclass(frozen=True)
class TrailerParams:
    """Whether and with which model large vehicles are typed."""

    enabled: bool = True
    model: str = DEFAULT_TRAILER_MODEL
    max_gsd: float | None = None  # None: the model card's limit

    def __post_init__(self) -> None:
        set_plain(self)

    def validate(self) -> None:
        """One-line error for a value out of range."""
        if self.max_gsd is not None:
            check_number("--trailer-max-gsd", self.max_gsd, 0.01, 2.0, what="metres")


@dataclass(frozen=True)
class SampleParams:
    """How large a review sample is and how it is drawn."""

    detections: int = 200  # detections to review
    windows: int = 40  # map windows to search for misses
    window_m: float = 50.0  # window side, metres
    seed: int = 0
    min_per_stratum: int = 2

    def __post_init__(self) -> None:
        set_plain(self)
        set_wholes(self, "detections", "windows", "seed", "min_per_stratum")

    def validate(self) -> None:
        """One-line error for a value out of range (review --sample, --windows, --window-m, --seed)."""
        check_number("--sample", self.detections, 0, 1_000_000, integer=True)
        check_number("--windows", self.windows, 0, 100_000, integer=True)
        check_number("--window-m", self.window_m, 1, 10_000, what="metres")
        check_number("--seed", self.seed, 0, 2**32 - 1, integer=True)
        check_number("sample min_per_stratum", self.min_per_stratum, 0, 1_000_000, integer=True)


@dataclass(frozen=True)
class SearchParams:
    """A catalogue search: a STAC API or a static catalogue the user names, and what to keep of its
    items (a count reads only the area of interest of each item kept)."""

    stac_api: str | None = None  # a STAC API's URL
    catalog: str | None = None  # a static catalogue, collection or ItemCollection: URL or file
    collections: tuple[str, ...] = ()
    datetime: str | None = None  # START/END, either end open with ..
    bbox: str | None = None  # W,S,E,N degrees: the area of interest instead of the zones or border
    gsd_range: tuple[float | None, float | None] = (None, None)  # metres, either end open
    max_cloud: float | None = None  # percent, where the item states it
    max_items: int | None = None  # oldest first

    def __post_init__(self) -> None:
        set_plain(self)
        set_wholes(self, "max_items")
        if isinstance(self.collections, str):  # one name, not its letters
            object.__setattr__(self, "collections", (self.collections,))
        if isinstance(self.gsd_range, list):
            object.__setattr__(self, "gsd_range", tuple(self.gsd_range))

    def validate(self) -> None:
        """One-line error for a value out of range (MIN <= MAX first, as the CLI reads --gsd-range)."""
        if not isinstance(self.gsd_range, tuple) or len(self.gsd_range) != 2:
            raise GeotallyError(f"--gsd-range takes MIN,MAX metres, e.g. 0.2,0.6; got {self.gsd_range!r}")
        lo, hi = self.gsd_range
        if is_number(lo) and is_number(hi) and lo > hi:
            raise GeotallyError(f"--gsd-range takes MIN,MAX metres with MIN <= MAX; got {f'{lo:g},{hi:g}'!r}")
        for v in self.gsd_range:
            if v is not None:
                check_number("--gsd-range", v, 0.005, 1000, what="metres")
        if self.max_cloud is not None:
            check_number("--max-cloud", self.max_cloud, 0, 100, what="a percentage")
        if self.max_items is not None:
            check_number("--max-items", self.max_items, 1, 1_000_000, integer=True)
