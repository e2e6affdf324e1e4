"""Drawing vehicles from above: supersampled, shaded, with cast shadows.

Each vehicle is evaluated on a supersampled patch in its own frame (u forward,
v to the right, metres), painted part by part, then area-averaged to the output
grid, so edges are anti-aliased at any GSD.
"""

from __future__ import annotations

import numpy as np

from geotally.synth.vehicles import KINDS

PAINTS = np.array([
    [0.92, 0.92, 0.90], [0.85, 0.86, 0.88], [0.75, 0.12, 0.10], [0.12, 0.25, 0.60], [0.15, 0.15, 0.16],
    [0.55, 0.57, 0.60], [0.90, 0.75, 0.20], [0.20, 0.45, 0.25], [0.70, 0.70, 0.72], [0.95, 0.55, 0.15],
], np.float32)
TANKS = np.array([[0.82, 0.83, 0.85], [0.70, 0.72, 0.74], [0.92, 0.92, 0.90], [0.86, 0.70, 0.35]], np.float32)
TRAILERS = np.array([[0.93, 0.93, 0.92], [0.86, 0.87, 0.88], [0.78, 0.79, 0.80], [0.95, 0.95, 0.93]], np.float32)
CONTAINERS = np.array([[0.62, 0.22, 0.16], [0.20, 0.32, 0.50], [0.55, 0.55, 0.53], [0.72, 0.55, 0.25],
                       [0.25, 0.40, 0.30], [0.80, 0.80, 0.78]], np.float32)
SS = 3  # supersampling per axis
SHADOW = 0.65  # fraction of light a cast shadow takes away (sky light fills the rest)


class Painter:
    """Colour and coverage of one vehicle on sample points given in its own frame."""

    def __init__(self, u: np.ndarray, v: np.ndarray, length: float, width: float):
        self.u, self.v, self.L, self.W = u, v, length, width
        self.rgb = np.zeros(u.shape + (3,), np.float32)
        self.cov = np.zeros(u.shape, bool)

    def rect(self, u0, u1, hw, colour, shade=None) -> np.ndarray:
        m = (self.u >= u0) & (self.u <= u1) & (np.abs(self.v) <= hw)
        col = np.broadcast_to(np.asarray(colour, np.float32), self.rgb.shape)
        if shade is not None:
            col = col * shade[..., None]
        self.rgb[m] = col[m]
        self.cov |= m
        return m


def _cab(p: Painter, front: float, hw: float, colour: np.ndarray, rng) -> float:
    """Cab at the front: roof, darker windscreen band, mirrors; returns where it ends."""
    cab_len = rng.uniform(2.2, 2.5)
    p.rect(front - cab_len, front, hw, colour * 0.92)
    p.rect(front - cab_len + 0.35, front - 0.7, hw - 0.25, np.minimum(colour * 1.05, 1.0))
    p.rect(front - 0.45, front - 0.05, hw - 0.1, [0.10, 0.12, 0.14])  # windscreen seen obliquely
    p.rect(front - 0.9, front - 0.6, hw + 0.25, [0.1, 0.1, 0.1])  # mirrors
    return front - cab_len


def _trailer(p: Painter, kind: str, back: float, front: float, hw: float, rng) -> None:
    u, v = p.u, p.v
    if kind == "tanker":
        colour = TANKS[rng.integers(len(TANKS))]
        r = np.clip(np.abs(v) / hw, 0, 1)
        across = np.sqrt(1 - r ** 2)
        light = 0.45 + 0.55 * across + 0.25 * np.exp(-((v / hw + 0.35) ** 2) / 0.02)
        cap = np.clip(np.minimum(u - back, front - u) / 0.8, 0, 1)
        shade = light * (0.75 + 0.25 * cap)
        hw_eff = hw * (0.92 + 0.08 * cap)
        m = (u >= back) & (u <= front) & (np.abs(v) <= hw_eff)
        p.rgb[m] = (colour * shade[..., None])[m]
        p.cov |= m
        walk = (u >= back + 1) & (u <= front - 1) & (np.abs(v) <= 0.25)
        p.rgb[walk] = np.array([0.45, 0.45, 0.45], np.float32)
        for hatch in np.linspace(back + 2, front - 2, 3):
            m2 = (np.abs(u - hatch) < 0.35) & (np.abs(v) < 0.35)
            p.rgb[m2] = colour * 0.6
    elif kind == "box":
        # Most box trailers are white or aluminium; some are painted.
        colour = TRAILERS[rng.integers(len(TRAILERS))] if rng.random() < 0.75 else PAINTS[rng.integers(len(PAINTS))]
        ribs = 1.0 - 0.08 * (np.mod(u - back, 1.15) < 0.12)
        edge = 1.0 - 0.18 * (np.abs(v) > hw - 0.12)
        p.rect(back, front, hw, colour, ribs * edge)
    elif kind == "flatbed":
        p.rect(back, front, hw, [0.30, 0.27, 0.24], 1.0 - 0.1 * (np.mod(u, 0.6) < 0.08))
        # Containers: one 40 ft, two 20 ft, or an empty deck; corrugated roofs.
        n = rng.choice([0, 1, 2], p=[0.15, 0.5, 0.35])
        lengths = {0: [], 1: [12.19], 2: [6.06, 6.06]}[int(n)]
        s = back + 0.3
        for ln in lengths:
            if s + ln > front - 0.2:
                break
            cargo = CONTAINERS[rng.integers(len(CONTAINERS))]
            ribs = 1.0 - 0.10 * (np.mod(p.u - s, 0.28) < 0.09) - 0.15 * (np.abs(p.v) > hw - 0.15)
            p.rect(s, s + ln, hw - 0.02, cargo, ribs)
            s += ln + 0.15
    else:  # rigid body
        colour = PAINTS[rng.integers(len(PAINTS))]
        p.rect(back, front, hw, colour, 1.0 - 0.15 * (np.abs(v) > hw - 0.12))


BUS_ROOFS = np.array([[0.93, 0.93, 0.92], [0.90, 0.78, 0.20], [0.80, 0.18, 0.14], [0.20, 0.42, 0.70],
                      [0.30, 0.60, 0.35], [0.85, 0.86, 0.88]], np.float32)


def _bus(p: Painter, hl: float, hw: float, rng) -> None:
    """A bus from above: one long uniform roof, air-conditioning boxes and hatches, the windscreen at
    the front, and the dark band of its side windows along the edges (seen a little from the side)."""
    roof = BUS_ROOFS[rng.integers(len(BUS_ROOFS))]
    p.rect(-hl, hl, hw, roof, 1.0 - 0.12 * (np.abs(p.v) > hw - 0.1))
    windows = (np.abs(p.v) > hw - 0.22) & (p.u > -hl + 0.8) & (p.u < hl - 0.6)
    p.rgb[windows] = np.array([0.12, 0.14, 0.17], np.float32)
    p.rect(hl - 0.5, hl, hw - 0.1, [0.08, 0.10, 0.12])  # windscreen
    for c in ([-2.5, 2.0] if rng.random() < 0.6 else [0.0]):
        p.rect(c - 1.1, c + 1.1, 0.8, roof * 0.72)  # air-conditioning unit
    for h in (-hl + 2.0, hl - 3.0):
        p.rect(h - 0.4, h + 0.4, 0.4, roof * 0.6)  # roof hatches


def _car(p: Painter, hl: float, hw: float, colour: np.ndarray, van: bool) -> None:
    u, v = p.u, p.v
    body = (np.abs(u / hl) ** 4 + np.abs(v / hw) ** 4) <= 1.0
    p.rgb[body] = colour
    p.cov |= body
    if van:  # short sloping hood, big windscreen, long flat roof, rear window
        p.rect(hl - 0.9, hl, hw - 0.1, colour * 0.85)
        p.rect(hl - 1.6, hl - 0.9, hw - 0.15, [0.08, 0.1, 0.12])
        p.rect(-hl + 0.5, hl - 1.6, hw - 0.12, np.minimum(colour * 1.06, 1))
        p.rect(-hl + 0.1, -hl + 0.45, hw - 0.3, [0.08, 0.1, 0.12])
        return
    glass = [0.07, 0.09, 0.11]
    p.rect(hl * 0.18, hl * 0.55, hw - 0.18, glass)  # windscreen
    p.rect(-hl * 0.62, -hl * 0.38, hw - 0.2, glass)  # rear window
    p.rect(-hl * 0.38, hl * 0.18, hw - 0.22, np.minimum(colour * 1.08, 1))  # roof


def outline(kind: str, length: float, width: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Coverage only, for shadows and side walls: a rounded box for cars, a rectangle for trucks."""
    hl, hw = length / 2, width / 2
    if kind in ("car", "van"):
        return (np.abs(u / hl) ** 4 + np.abs(v / hw) ** 4) <= 1.0
    return (np.abs(u) <= hl) & (np.abs(v) <= hw)


def paint_vehicle(kind: str, length: float, width: float, u: np.ndarray, v: np.ndarray,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Colour (…, 3) and coverage (…) of a vehicle at frame points (u, v)."""
    p = Painter(u, v, length, width)
    hl, hw = length / 2, width / 2
    if kind in ("car", "van"):
        _car(p, hl, hw, PAINTS[rng.integers(len(PAINTS))], kind == "van")
        return p.rgb, p.cov
    if kind == "bus":
        _bus(p, hl, hw, rng)
        return p.rgb, p.cov
    cab_colour = PAINTS[rng.integers(len(PAINTS))]
    cab_back = _cab(p, hl, hw, cab_colour, rng)
    if kind == "tractor":  # the bare chassis behind the cab, fifth wheel and all
        p.rect(-hl, cab_back, hw - 0.45, [0.12, 0.12, 0.12])
        p.rect(-hl + 0.5, -hl + 1.7, hw - 0.6, [0.22, 0.22, 0.22])
    elif kind == "rigid":
        _trailer(p, "rigid", -hl, cab_back - 0.3, hw, rng)
    else:
        p.rect(cab_back - 1.0, cab_back, hw - 0.45, [0.12, 0.12, 0.12])  # chassis and fifth wheel
        _trailer(p, kind, -hl, cab_back - 0.6, hw, rng)
    return p.rgb, p.cov


def _wall_colour(rgb: np.ndarray, roof: np.ndarray) -> np.ndarray:
    """Side walls are in the vehicle's own shade: its mean roof colour, darkened."""
    base = rgb[roof].mean(axis=0) if roof.any() else np.array([0.5, 0.5, 0.5], np.float32)
    return (base * 0.55).astype(np.float32)


def render_vehicles(img: np.ndarray, vehicles: list[dict], origin_y: float, gsd: float,
                    sun_azimuth: float, sun_elevation: float, rng: np.random.Generator,
                    off_nadir: float = 12.0, look_azimuth: float = 250.0) -> None:
    """Paint vehicles and their shadows into ``img`` (h, w, 3) in place.

    Shadows fall on the ground only: all shadows are laid first, then every vehicle over
    them, so a truck is not darkened by its neighbour's ground shadow. Pixel (col, row)
    centre is at local metres ((col + .5) gsd, origin_y - (row + .5) gsd).
    """
    h, w = img.shape[:2]
    az = np.radians(sun_azimuth)
    shadow_dir = -np.array([np.sin(az), np.cos(az)])  # shadows fall away from the sun
    cot = 1.0 / np.tan(np.radians(sun_elevation))
    look = np.radians(look_azimuth)
    lean_dir = -np.array([np.sin(look), np.cos(look)])  # tops lean away from the sensor
    seeds = [int(rng.integers(1 << 31)) for _ in vehicles]
    for shadow_pass in (True, False):
        for veh, seed in zip(vehicles, seeds):
            k = KINDS[veh["kind"]]
            off = shadow_dir * k.height * cot
            lean = lean_dir * k.height * np.tan(np.radians(off_nadir))
            hd = np.radians(veh["heading_deg"])
            fx, fy, rx, ry = np.sin(hd), np.cos(hd), np.cos(hd), -np.sin(hd)
            # Patch: the box around the footprint, its shadow and its leaning roof (mirrors stick out 0.25 m).
            hl, hw = veh["length"] / 2 + 0.3, veh["width"] / 2 + 0.3
            corners = np.array([(veh["x"] + a * hl * fx + b * hw * rx, veh["y"] + a * hl * fy + b * hw * ry)
                                for a in (-1, 1) for b in (-1, 1)])
            reach = np.concatenate([corners, corners + (off if shadow_pass else lean)])
            (xmin, ymin), (xmax, ymax) = reach.min(axis=0), reach.max(axis=0)
            c0, c1 = int(max(0, np.floor(xmin / gsd))), int(min(w, np.ceil(xmax / gsd)))
            r0, r1 = int(max(0, np.floor((origin_y - ymax) / gsd))), int(min(h, np.ceil((origin_y - ymin) / gsd)))
            if c1 <= c0 or r1 <= r0:
                continue
            sub = (np.arange(SS) + 0.5) / SS
            X = (np.arange(c0, c1)[:, None] + sub[None, :]).ravel()[None, :] * gsd
            Y = origin_y - (np.arange(r0, r1)[:, None] + sub[None, :]).ravel()[:, None] * gsd
            dx, dy = X - veh["x"], Y - veh["y"]

            def frame(offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                ox, oy = dx - offset[0], dy - offset[1]
                return ox * fx + oy * fy, ox * rx + oy * ry

            def shape_at(offset: np.ndarray) -> np.ndarray:
                return outline(veh["kind"], veh["length"], veh["width"], *frame(offset))

            ph, pw = r1 - r0, c1 - c0

            def block(a: np.ndarray) -> np.ndarray:
                return a.reshape(ph, SS, pw, SS, *a.shape[2:]).mean(axis=(1, 3))

            patch = img[r0:r1, c0:c1]
            if shadow_pass:
                shadow = shape_at(off) | shape_at(off * 0.5) | shape_at(off * 0.0)
                patch *= (1.0 - SHADOW * block(shadow.astype(np.float32)))[..., None]
                continue
            # Off-nadir view: the roof leans away from the satellite and one side wall shows.
            walls = np.zeros(np.broadcast_shapes(X.shape, Y.shape), bool)
            for t in np.linspace(0.0, 1.0, 5)[:-1]:
                walls |= shape_at(lean * t)
            rgb, roof = paint_vehicle(veh["kind"], veh["length"], veh["width"], *frame(lean),
                                      np.random.default_rng(seed))
            rgb[walls & ~roof] = _wall_colour(rgb, roof)
            cov = roof | walls
            a_cov = block(cov.astype(np.float32))
            colour = block(rgb * cov[..., None]) / np.maximum(a_cov, 1e-6)[..., None]
            patch[:] = patch * (1 - a_cov[..., None]) + colour * a_cov[..., None]
