"""Routes over the road network: the shortest path through waypoints, cut into stretches, with the
vehicles along each stretch per date.

The graph is made from the road lines noded at every crossing (OSM ways meet at shared vertices,
not at their ends), in the scene's local metric CRS, weighted by length (networkx). A vehicle is
along the route when it is on a road and the route passes its road at about the same distance
(within 1 m of the vehicle's distance to its own road). Stretches report how much of their length
the scenes imaged (``observed_share``): a stretch no scene covered has no count, not a zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely import ops

from geotally.errors import GeotallyError
from geotally.config.params import RouteParams  # noqa: F401 (re-exported)

WAYPOINT_REACH_M = 1000.0  # a waypoint farther than this from every road is a mistake, not a route
ALONG_TOLERANCE_M = 1.0


def parse_waypoints(text: str) -> np.ndarray:
    """'LON,LAT;LON,LAT[;...]' to an (n, 2) array, or a one-line error saying what is wrong."""
    try:
        pts = np.array([[float(v) for v in p.split(",")] for p in text.split(";") if p.strip()], float)
    except ValueError:
        raise GeotallyError(f"--route takes LON,LAT;LON,LAT[;...] in degrees, got {text!r}") from None
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 2:
        raise GeotallyError(f"--route needs at least two LON,LAT points separated by ';', got {text!r}")
    if not np.isfinite(pts).all() or (np.abs(pts[:, 0]) > 180).any() or (np.abs(pts[:, 1]) > 90).any():
        raise GeotallyError(f"--route points must be longitude -180..180 and latitude -90..90, got {text!r}")
    return pts


@dataclass(frozen=True)
class Route:
    path_m: shapely.LineString  # metric
    stretches_m: np.ndarray  # (k,) LineStrings, metric
    starts_m: np.ndarray  # (k,) metres along the route where each stretch starts


def plan_route(lines_m: np.ndarray, waypoints_m: np.ndarray, waypoints_lonlat: np.ndarray,
               params: RouteParams = RouteParams()) -> Route:
    """The shortest path over ``lines_m`` through the waypoints (metric), cut into stretches."""
    import networkx as nx

    pieces = shapely.get_parts(shapely.union_all(lines_m))
    pieces = pieces[shapely.get_type_id(pieces) == 1]
    if not len(pieces):
        raise GeotallyError("--route: the roads file has no road lines near the scenes to route on")
    # Each waypoint joins the network where it projects onto its nearest road: that road is cut there.
    (wi, pj), dist = shapely.STRtree(pieces).query_nearest(shapely.points(waypoints_m), return_distance=True,
                                                          all_matches=False)
    for k in np.flatnonzero(dist > WAYPOINT_REACH_M):
        ll = waypoints_lonlat[wi[k]]
        raise GeotallyError(f"--route point {wi[k] + 1} ({ll[0]:g},{ll[1]:g}) is {dist[k] / 1000:.1f} km from the "
                            "nearest road of the roads file; move it onto the road network")
    at_m = shapely.line_locate_point(pieces[pj], shapely.points(waypoints_m[wi]))
    joins = shapely.get_coordinates(shapely.line_interpolate_point(pieces[pj], at_m))
    cut = []
    for k in np.unique(pj):
        pos = np.unique(np.r_[0.0, at_m[pj == k], pieces[k].length])
        cut += [ops.substring(pieces[k], a0, a1) for a0, a1 in zip(pos[:-1], pos[1:]) if a1 > a0]
    pieces = np.r_[np.delete(pieces, np.unique(pj)), np.array(cut, dtype=object)]
    ends = np.stack([shapely.get_coordinates(shapely.get_point(pieces, 0)),
                     shapely.get_coordinates(shapely.get_point(pieces, -1))], axis=1)
    nodes, inverse = np.unique(np.round(ends.reshape(-1, 2), 2), axis=0, return_inverse=True)
    uv = inverse.reshape(-1, 2)
    length = shapely.length(pieces)
    graph = nx.Graph()
    for k in np.argsort(-length):  # the shortest of parallel pieces between two nodes is kept last, so it wins
        graph.add_edge(int(uv[k, 0]), int(uv[k, 1]), length=float(length[k]), piece=int(k))
    at = np.empty(len(waypoints_m), np.int64)
    at[wi] = cKDTree(nodes).query(np.round(joins, 2))[1]
    coords: list[np.ndarray] = []
    for k in range(len(at) - 1):
        a, b = int(at[k]), int(at[k + 1])
        try:
            seq = nx.shortest_path(graph, a, b, weight="length")
        except nx.NetworkXNoPath:
            km = lambda n: sum(d["length"] for *_, d in graph.subgraph(nx.node_connected_component(graph, n)).edges(data=True)) / 1000  # noqa: E731
            p, q = waypoints_lonlat[k], waypoints_lonlat[k + 1]
            raise GeotallyError(f"--route: no road connects point {k + 1} ({p[0]:g},{p[1]:g}) and point {k + 2} "
                                f"({q[0]:g},{q[1]:g}); the roads file has a gap between them (they lie on separate "
                                f"networks of {km(a):.1f} and {km(b):.1f} km)") from None
        for u, v in zip(seq[:-1], seq[1:]):
            xy = shapely.get_coordinates(pieces[graph.edges[u, v]["piece"]])
            if np.hypot(*(xy[0] - nodes[u])) > np.hypot(*(xy[-1] - nodes[u])):
                xy = xy[::-1]
            coords.append(xy if not coords else xy[1:])
    if not coords:
        raise GeotallyError("--route: its points all snap to the same road junction; give points farther apart")
    path = shapely.LineString(np.vstack(coords))
    step = params.stretch_km * 1000.0
    starts = np.arange(0.0, path.length, step)
    stretches = np.array([ops.substring(path, s, min(s + step, path.length)) for s in starts], dtype=object)
    return Route(path, stretches, starts)


def along_route(route: Route, centres_m: np.ndarray, on_road: np.ndarray, road_dist_m: np.ndarray) -> np.ndarray:
    """Per vehicle, the index of the route stretch it is on, or -1."""
    pts = shapely.points(np.asarray(centres_m, float).reshape(-1, 2))
    d = shapely.distance(pts, route.path_m)
    on = np.asarray(on_road, bool) & (d <= np.nan_to_num(road_dist_m, nan=np.inf) + ALONG_TOLERANCE_M)
    pos = shapely.line_locate_point(route.path_m, pts)
    k = np.searchsorted(route.starts_m, pos, side="right") - 1
    return np.where(on, np.clip(k, 0, len(route.starts_m) - 1), -1)
