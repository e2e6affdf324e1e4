"""Where everything stands in a synthetic border crossing, in local metres (x east, y north).

A highway runs south to north across the scene and crosses a border line near the
middle; a customs plaza sits on the border. Trucks queue head to tail in the lanes
leading to the plaza on both sides, a depot holds parked trucks side by side, and
cars drive the free lanes and fill a car park. Placement is seeded and every
vehicle is checked to lie inside the scene and to overlap no other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon, box

from geotally.config.synth import LayoutParams
from geotally.synth.vehicles import KINDS, TRUCK_KINDS

LANE_W = 3.6
PLAZA_HALF = 45.0  # metres of plaza either side of the border along the road
QUEUE_START = 60.0  # queues begin this far from the border crossing point
HEADWAY = 30.0  # least gap between driving cars, metres: about 2 s at 50 km/h, so moving traffic is no queue


@dataclass
class Layout:
    params: LayoutParams
    road: LineString
    border: LineString
    side_polygons: dict[str, Polygon]
    plaza: Polygon
    depots: list[Polygon]
    car_park: Polygon | None
    vehicles: list[dict]  # kind, cls, x, y, heading_deg, length, width, side, context, queue_id


def _road_line(p: LayoutParams, rng: np.random.Generator) -> LineString:
    w, h = p.width_m, p.height_m
    bend = rng.uniform(-0.06, 0.06) * w
    if p.road_curve > 0:  # one full sine over the scene's height: curves of a few hundred metres' radius
        y = np.linspace(-5.0, h + 5.0, 241)
        return LineString(np.column_stack([0.46 * w + p.road_curve * w * np.sin(2 * np.pi * y / h), y]))
    return LineString([(0.42 * w, -5.0), (0.5 * w + bend, 0.5 * h), (0.46 * w, h + 5.0)])


def _border_line(p: LayoutParams, rng: np.random.Generator) -> LineString:
    tilt = rng.uniform(-0.05, 0.05) * p.width_m
    return LineString([(-1.0, 0.5 * p.height_m - tilt), (p.width_m + 1.0, 0.5 * p.height_m + tilt)])


def _sides(p: LayoutParams, border: LineString) -> dict[str, Polygon]:
    (x0, y0), (x1, y1) = border.coords
    big = 10.0 * max(p.width_m, p.height_m, 1e3)  # far past the scene, however tall it is
    north = Polygon([(x0, y0), (x1, y1), (x1, big), (x0, big)])
    south = Polygon([(x0, y0), (x1, y1), (x1, -big), (x0, -big)])
    return {p.sides[0]: north, p.sides[1]: south}


def _lane_line(road: LineString, offset: float, forward: bool) -> LineString:
    """Lane centre at a lateral offset (positive = right of north-bound travel), pointing the driving direction."""
    line = road.offset_curve(-offset)  # shapely: positive offset is to the left
    coords = list(line.coords)
    if coords[0][1] > coords[-1][1]:
        coords = coords[::-1]
    return LineString(coords if forward else coords[::-1])


def _truck_kind(p: LayoutParams, rng: np.random.Generator) -> str:
    mix = np.asarray(p.mix, float)
    return str(rng.choice(TRUCK_KINDS, p=mix / mix.sum()))


def _dims(kind: str, rng: np.random.Generator) -> tuple[float, float]:
    k = KINDS[kind]
    return float(rng.uniform(*k.length)), float(rng.uniform(*k.width))


def _heading(dx: float, dy: float) -> float:
    return float(np.degrees(np.arctan2(dx, dy)) % 360.0)


def _queue(p, rng, lane: LineString, stop: float, n: int, side: str, qid: str) -> list[dict]:
    """Up to n trucks head to tail behind arc length ``stop`` of a lane drawn in the driving direction."""
    out, front = [], stop
    for _ in range(n):
        kind = _truck_kind(p, rng)
        length, width = _dims(kind, rng)
        back = front - length
        if back < 12.0:  # keep the last truck inside the scene
            break
        a, b = lane.interpolate(back), lane.interpolate(front)
        hd = _heading(b.x - a.x, b.y - a.y)
        lateral, rad = rng.normal(0, 0.15), np.radians(hd)
        out.append(dict(kind=kind, x=(a.x + b.x) / 2 + lateral * np.cos(rad), y=(a.y + b.y) / 2 - lateral * np.sin(rad),
                        heading_deg=(hd + rng.normal(0, 1.0)) % 360, length=length, width=width,
                        side=side, context="queue", queue_id=qid))
        front = back - rng.uniform(2.5, 7.0)
    return out


def _place_queues(p, rng, road, border) -> list[dict]:
    """North side queues in the south-bound lanes, south side in the north-bound ones; inner lane first."""
    crossing = road.intersection(border)
    vehicles = []
    for side, forward, sign in ((p.sides[0], False, -1), (p.sides[1], True, 1)):
        want, placed = int(p.queue.get(side, 0)), []
        for lane_no, offset in enumerate((k + 0.5) * LANE_W for k in range(p.queue_lanes)):
            if len(placed) >= want:
                break
            lane = _lane_line(road, sign * offset, forward)
            stop = lane.project(crossing) - QUEUE_START
            placed += _queue(p, rng, lane, stop, want - len(placed), side, f"{side}-q{lane_no + 1}")
        if len(placed) < want:
            raise ValueError(f"{want} queued trucks do not fit on the {side} side; use a taller scene")
        vehicles += placed
    return vehicles


def _depot(p, rng_geo, rng, road, side_poly, side, capacity, n, taken) -> tuple[Polygon | None, list[dict]]:
    if capacity <= 0:
        return None, []
    if n > capacity:
        raise ValueError(f"{n} depot trucks exceed the {side} depot's capacity of {capacity}")
    rows = int(np.ceil(capacity / 10))
    lot_w, lot_h = 10 * 4.2 + 8, rows * 24.0 + 6
    region = side_poly.intersection(box(0, 0, p.width_m, p.height_m))
    for _ in range(200):
        x0 = rng_geo.uniform(0.62, 0.95) * p.width_m - lot_w if rng_geo.random() < 0.5 else rng_geo.uniform(0.03, 0.3) * p.width_m
        y0 = rng_geo.uniform(region.bounds[1] + 10, region.bounds[3] - lot_h - 10)
        lot = box(x0, y0, x0 + lot_w, y0 + lot_h)
        if region.contains(lot) and lot.distance(road) > 20 and not lot.intersects(taken):
            break
    else:
        raise ValueError(f"no room for a {n}-truck depot on the {side} side; use a larger scene")
    out = []
    for i in sorted(rng.choice(capacity, size=n, replace=False)):
        r, c = divmod(int(i), 10)
        kind = _truck_kind(p, rng)
        length, width = _dims(kind, rng)
        heading = 0.0 if r % 2 == 0 else 180.0
        out.append(dict(kind=kind, x=x0 + 6 + c * 4.2, y=y0 + 3 + r * 24.0 + 10.0, heading_deg=heading + rng.normal(0, 2),
                        length=length, width=width, side=side, context="depot", queue_id=None))
    return lot, out


def _car_park(p, rng, road, border, n, taken) -> tuple[Polygon | None, list[dict]]:
    if n <= 0:
        return None, []
    cols, rows = 10, int(np.ceil(n / 10))
    lot_w, lot_h = cols * 2.7 + 4, rows * 6.5 + 4
    cross = road.intersection(border)
    x0, y0 = cross.x - 35 - lot_w, cross.y + PLAZA_HALF + 10
    lot = box(x0, y0, x0 + lot_w, y0 + lot_h)
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        kind = "van" if rng.random() < 0.15 else "car"
        length, width = _dims(kind, rng)
        out.append(dict(kind=kind, x=x0 + 2 + 1.35 + c * 2.7, y=y0 + 2 + 3.25 + r * 6.5,
                        heading_deg=(0.0 if rng.random() < 0.5 else 180.0) + rng.normal(0, 3),
                        length=length, width=width, side=p.sides[0], context="car_park", queue_id=None))
    return lot, out


def _road_cars(p, rng, road, border, sides, n, existing) -> list[dict]:
    """Cars driving in lanes the queues leave free, placed without overlap."""
    cross = road.intersection(border)
    out, polys = [], list(existing)
    lanes = [(_lane_line(road, -0.5 * LANE_W, False), "S"), (_lane_line(road, 1.5 * LANE_W, True), "N"),
             (_lane_line(road, 0.5 * LANE_W, True), "N"), (_lane_line(road, -1.5 * LANE_W, False), "S")]
    tries = 0
    tree_polys = shapely.STRtree(polys) if polys else None
    while len(out) < n and tries < 50 * max(n, 1):
        tries += 1
        lane, _ = lanes[rng.integers(len(lanes))]
        s = rng.uniform(10, lane.length - 10)
        pt = lane.interpolate(s)
        if abs(pt.distance(cross)) < PLAZA_HALF + 5 or not (5 < pt.x < p.width_m - 5 and 8 < pt.y < p.height_m - 8):
            continue
        nxt = lane.interpolate(s + 1.0)
        kind = "van" if rng.random() < 0.2 else "car"
        length, width = _dims(kind, rng)
        v = dict(kind=kind, x=pt.x, y=pt.y, heading_deg=_heading(nxt.x - pt.x, nxt.y - pt.y), length=length,
                 width=width, side=None, context="road", queue_id=None)
        fp = footprint(v)
        # keep clear of everything, and of anything ahead or behind in the same lane by the headway
        rad = np.radians(v["heading_deg"])
        reach = v["length"] / 2 + HEADWAY
        ahead = np.array([np.sin(rad), np.cos(rad)]) * reach
        corridor = LineString([(pt.x - ahead[0], pt.y - ahead[1]), (pt.x + ahead[0], pt.y + ahead[1])]).buffer(0.6)
        clearance = fp.buffer(1.5)
        if tree_polys is not None and (len(tree_polys.query(clearance, predicate="intersects"))
                                       or len(tree_polys.query(corridor, predicate="intersects"))):
            continue
        placed = polys[len(existing):]  # cars placed so far (not in the tree)
        if placed and (shapely.intersects(corridor, placed).any() or shapely.intersects(clearance, placed).any()):
            continue
        out.append(v)
        polys.append(footprint(v))
    return out


def footprint(v: dict) -> Polygon:
    """The vehicle's rectangle in local metres."""
    h = np.radians(v["heading_deg"])
    fx, fy = np.sin(h), np.cos(h)  # forward
    rx, ry = np.cos(h), -np.sin(h)  # right
    hl, hw = v["length"] / 2, v["width"] / 2
    pts = [(v["x"] + sx * hl * fx + sy * hw * rx, v["y"] + sx * hl * fy + sy * hw * ry)
           for sx, sy in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
    return Polygon(pts)


def make_layout(p: LayoutParams) -> Layout:
    """Place road, border, plaza, depots, car park and vehicles; seeded and checked."""
    rng_geo = np.random.default_rng(p.seed)
    rng = np.random.default_rng([p.seed, p.date_index])
    road, border = _road_line(p, rng_geo), _border_line(p, rng_geo)
    sides = _sides(p, border)
    cross = road.intersection(border)
    plaza = shapely.buffer(road, 2 * LANE_W + 8).intersection(cross.buffer(PLAZA_HALF))
    vehicles = _place_queues(p, rng, road, border)
    taken = shapely.buffer(road, 30.0)
    depots = []
    capacity = p.depot_capacity or p.depot
    for side in capacity:
        lot, trucks = _depot(p, rng_geo, rng, road, sides[side], side, int(capacity[side]),
                             int(p.depot.get(side, 0)), taken)
        if lot is not None:
            depots.append(lot)
            taken = taken.union(lot.buffer(10))
            vehicles += trucks
    car_park, parked = _car_park(p, rng, road, border, p.cars_park, taken)
    vehicles += parked
    vehicles += _road_cars(p, rng, road, border, sides, p.cars_road, [footprint(v) for v in vehicles])
    pts = shapely.points(np.array([(v["x"], v["y"]) for v in vehicles], dtype=float).reshape(-1, 2))  # none: an empty scene
    side_names = list(sides)
    in_first = shapely.covers(sides[side_names[0]], pts)
    for v, first in zip(vehicles, in_first):
        v["side"] = side_names[0] if first else side_names[1]
        v["cls"] = KINDS[v["kind"]].cls
    return Layout(p, road, border, sides, plaza, depots, car_park, vehicles)
