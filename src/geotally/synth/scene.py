"""Writing a synthetic scene: a georeferenced GeoTIFF plus border, sides and truth as GeoJSON."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import box, mapping

from geotally.synth.ground import render_ground
from geotally.config.limits import check_number
from geotally.config.synth import SERIES_START, SynthParams
from geotally.synth.layout import Layout, footprint, make_layout
from geotally.synth.render import render_vehicles

# Near the Zakho / Ibrahim Khalil crossing, in UTM 38N.
ZAKHO_LONLAT = (42.565, 37.145)
UTM38N = CRS.from_epsg(32638)


def _origin() -> tuple[float, float]:
    x, y = Transformer.from_crs("EPSG:4326", UTM38N, always_xy=True).transform(*ZAKHO_LONLAT)
    return round(x / 10) * 10, round(y / 10) * 10


def render(layout: Layout, p: SynthParams) -> tuple[np.ndarray, Affine]:
    """uint8 (h, w, 3) image and its local-metre transform (origin bottom-left at 0, 0)."""
    lp = layout.params
    w, h = int(round(lp.width_m / p.gsd)), int(round(lp.height_m / p.gsd))
    local = Affine(p.gsd, 0, 0, 0, -p.gsd, h * p.gsd)
    rng = np.random.default_rng(lp.seed + 1)
    img = render_ground(layout, (h, w), local, p.gsd, rng)
    render_vehicles(img, layout.vehicles, h * p.gsd, p.gsd, p.sun_azimuth, p.sun_elevation, rng)
    if p.blur_px > 0:
        img = cv2.GaussianBlur(img, (0, 0), p.blur_px)
    if p.sharpen > 0:  # vendors sharpen their products; edges get the same halo
        img = img + p.sharpen * (img - cv2.GaussianBlur(img, (0, 0), 1.5))
    if p.haze > 0:
        img = img * (1 - p.haze) + np.array([0.80, 0.80, 0.82], np.float32) * p.haze
    noise_rng = np.random.default_rng([lp.seed, lp.date_index, p.noise_seed])
    img += p.noise * noise_rng.standard_normal(img.shape, dtype=np.float32)
    out = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    if p.jpeg_quality:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(p.jpeg_quality)])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return out, local


def _geojson(path: Path, features: list[dict]) -> None:
    fc = {"type": "FeatureCollection",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32638"}},
          "features": features}
    path.write_text(json.dumps(fc, indent=1))


def _shift(geom, x0: float, y0: float):
    return shapely.transform(geom, lambda xy: xy + np.array([x0, y0]))


def truth_counts(vehicles: list[dict]) -> dict[str, dict[str, int]]:
    """True vehicles per side and class."""
    counts: dict[str, dict[str, int]] = {}
    for v in vehicles:
        counts.setdefault(v["side"], {}).setdefault(v["cls"], 0)
        counts[v["side"]][v["cls"]] += 1
    return counts


# The closure scenario's queue, as a share of the asked queue: before the closure, while closed
# (first imaged date, then every later one) and how much of it each date after the reopening keeps.
CLOSURE_LEVELS = {"open": 0.15, "first_closed": 0.7, "closed": 1.0, "drain": 0.7}


def closure_level(day, closure, reopen, previous: float) -> float:
    """The share of the asked queue standing on ``day`` of a closure series (``previous``: the date before)."""
    lv = CLOSURE_LEVELS
    if day < closure:
        return lv["open"]
    if reopen is None or day < reopen:
        return lv["first_closed"] if previous <= lv["open"] else lv["closed"]
    return max(lv["open"], previous * lv["drain"])


def series_params(p: SynthParams, n_dates: int, start: str = SERIES_START, step_days: int = 7,
                  closure: str | None = None, reopen: str | None = None) -> list[SynthParams]:
    """The same place on ``n_dates`` dates: queues at 50-100% of the asked length, the depot 50-100% full.

    With ``closure`` (YYYY-MM-DD) the queues follow a closure instead: 15% of the asked length
    before it, 70% on the first date on or after it and all of it while closed, then
    each date from ``reopen`` on 70% of the date before (never under 15%). Truth is exact per date.
    """
    check_number("--dates", n_dates, 1, 10_000, integer=True)
    import datetime as dt

    lp = p.layout
    day0 = dt.date.fromisoformat(start)
    shut = dt.date.fromisoformat(closure) if closure else None
    back = dt.date.fromisoformat(reopen) if reopen else None
    if shut is not None and back is not None and back <= shut:
        raise ValueError(f"the reopening ({reopen}) must come after the closure ({closure})")
    out, level = [], 0.0
    for k in range(n_dates):
        rng = np.random.default_rng([lp.seed, k, 7])
        day = day0 + dt.timedelta(days=step_days * k)
        if shut is not None:
            level = closure_level(day, shut, back, level)
            queue = {s: int(round(n * level)) for s, n in lp.queue.items()}
        else:
            queue = {s: int(round(n * rng.uniform(0.5, 1.0))) for s, n in lp.queue.items()}
        depot = {s: int(round(n * rng.uniform(0.5, 1.0))) for s, n in lp.depot.items()}
        layout = replace(lp, queue=queue, depot=depot, date_index=k, depot_capacity=dict(lp.depot))
        out.append(replace(p, layout=layout, date=day.isoformat()))
    return out


def write_scene(out_dir: str | Path, p: SynthParams, name: str = "scene") -> dict:
    """Render and write ``{name}.tif``, ``border.geojson``, ``sides.geojson``, ``roads.geojson`` and
    ``{name}_truth.geojson``.

    Returns the paths and the true counts per side and class.
    """
    p.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    layout = make_layout(p.layout)
    img, _ = render(layout, p)
    x0, y0 = _origin()
    h, w = img.shape[:2]
    transform = Affine(p.gsd, 0, x0, 0, -p.gsd, y0 + h * p.gsd)
    tif = out / f"{name}.tif"
    profile = dict(driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=UTM38N, transform=transform,
                   tiled=True, blockxsize=512, blockysize=512, compress="deflate", zlevel=1, predictor=2,
                   photometric="RGB")
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(np.moveaxis(img, -1, 0))
        if p.date:
            dst.update_tags(ACQUISITION_DATE=p.date)
    scene_box = box(0, 0, w * p.gsd, h * p.gsd)
    _geojson(out / "border.geojson", [{"type": "Feature", "properties": {"name": "border", "left": layout.params.sides[0], "right": layout.params.sides[1]},
                                       "geometry": mapping(_shift(layout.border, x0, y0))}])
    _geojson(out / "sides.geojson", [{"type": "Feature", "properties": {"name": s},
                                      "geometry": mapping(_shift(poly.intersection(scene_box.buffer(50)), x0, y0))}
                                     for s, poly in layout.side_polygons.items()])
    # The road network: the crossing's trunk road, named, with the bend the layout gave it.
    _geojson(out / "roads.geojson", [{"type": "Feature", "properties": {"id": "R1", "highway": "trunk",
                                                                        "name": "Crossing road", "ref": "R1",
                                                                        "oneway": "no"},
                                      "geometry": mapping(_shift(layout.road, x0, y0))}])
    truth = []
    for i, v in enumerate(layout.vehicles):
        props = {k: (round(val, 3) if isinstance(val, float) else val) for k, val in v.items() if k not in ("x", "y")}
        props["id"] = i
        props["class"] = props.pop("cls")
        truth.append({"type": "Feature", "properties": props, "geometry": mapping(_shift(footprint(v), x0, y0))})
    _geojson(out / f"{name}_truth.geojson", truth)
    counts = truth_counts(layout.vehicles)
    return {"scene": str(tif), "border": str(out / "border.geojson"), "sides": str(out / "sides.geojson"),
            "roads": str(out / "roads.geojson"), "truth": str(out / f"{name}_truth.geojson"), "counts": counts, "layout": layout, "date": p.date}
