"""Writing a synthetic scene: a georeferenced GeoTIFF plus border, sides and truth as GeoJSON."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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
from geotally.errors import GeotallyError, os_error
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


def truth_counts(vehicles: list[dict], sides: list[str] = ()) -> dict[str, dict[str, int]]:
    """True vehicles per side and class; ``sides`` are listed even where they hold none."""
    counts: dict[str, dict[str, int]] = {side: {} for side in sides}
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


def _out_folder(out_dir: str | Path) -> Path:
    """``--out`` as a folder to write into, refused in one line when it cannot be one; nothing is created."""
    out = Path(out_dir)
    if out.is_symlink() and not out.exists():
        raise GeotallyError(f"--out {out} is a symbolic link to {os.path.realpath(out)}, which does not exist "
                            "(or a link loop); create that folder, or give another --out")
    if out.exists() and not out.is_dir():
        raise GeotallyError(f"--out {out} is an existing file; give a directory path")
    return out


# The scene files synth writes: scene.tif or scene_YYYY-MM-DD.tif, each with its _truth.geojson (the
# place's border, sides and roads.geojson keep their names from run to run and are simply replaced).
SCENE_NAME = re.compile(r"^scene(_\d{4}-\d{2}-\d{2})?(\.tif|_truth\.geojson)$")


@contextmanager
def _staged(out: Path, replace_run: bool = False) -> Iterator[Path]:
    """A staging folder inside ``out`` whose files are moved into ``out`` once all are written. On an error
    nothing in ``out`` changes, and folders this made (``out`` and missing parents) are removed. With
    ``replace_run``, files of an earlier synth run (its scene names, see SCENE_NAME) that this one did not
    write again are removed, so the folder holds this run's scenes only."""
    top = None
    for folder in (out, *out.parents):
        if folder.exists():
            break
        top = folder
    stage = None
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".synth-staging-{os.getpid()}-", dir=out))
        yield stage
        written = sorted(stage.iterdir())
        for f in written:
            os.replace(f, out / f.name)
        if replace_run:
            new = {f.name for f in written}
            for old in out.iterdir():
                if SCENE_NAME.match(old.name) and old.name not in new and (old.is_file() or old.is_symlink()):
                    old.unlink()
    except BaseException as exc:
        if top is not None:
            shutil.rmtree(top, ignore_errors=True)
        user = os_error(exc, out) if isinstance(exc, Exception) else None
        if user is not None:
            raise user from None
        raise
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


def write_scene(out_dir: str | Path, p: SynthParams, name: str = "scene") -> dict:
    """Render and write ``{name}.tif``, ``border.geojson``, ``sides.geojson``, ``roads.geojson`` and
    ``{name}_truth.geojson`` into ``out_dir`` (made if missing). Other files there are left as they are.

    The files appear together once all are written; a layout that does not fit (ValueError) or any
    other error leaves ``out_dir`` as it was and removes a folder this call made.
    Returns the paths and the true counts per side and class.
    """
    p.validate()
    out = _out_folder(out_dir)
    layout = make_layout(p.layout)  # before anything is made: trucks that do not fit leave no folder
    with _staged(out) as stage:
        return _write_files(stage, out, p, name, layout)


def write_synth(out_dir: str | Path, p: SynthParams, dates: int = 1, start: str | None = None,
                closure: str | None = None, reopen: str | None = None) -> list[dict]:
    """``geotally synth``: the scene of ``p`` (``dates`` 1, ``scene.tif``), or the same place on ``dates``
    dates (``scene_YYYY-MM-DD.tif``, see ``series_params``), with border, sides, roads and truth, in ``out_dir``.

    Every value is checked and every layout placed before anything is written; on an error ``out_dir``
    is left as it was (a folder this call made is removed). A run replaces the earlier synth run in
    ``out_dir``: its scene files (``scene.tif``, ``scene_YYYY-MM-DD.tif`` and their ``_truth.geojson``)
    that this run does not write again are removed, so a glob of the folder finds this run's scenes only;
    files of other names are kept. Returns one ``write_scene``-like result per scene, in date order.
    """
    from geotally.config.limits import iso_date

    check_number("--dates", dates, 1, 10_000, integer=True)
    if reopen and not closure:
        raise GeotallyError("--reopen has no effect without --closure; give --closure too, or leave --reopen out")
    for opt, value in (("--start-date", start), ("--closure", closure)):
        if value is not None and dates < 2:
            raise GeotallyError(f"{opt} has no effect without --dates N (N of 2 or more); give --dates too")
    start = iso_date(start, "--start-date") if start else SERIES_START
    closure = iso_date(closure, "--closure") if closure else None
    reopen = iso_date(reopen, "--reopen") if reopen else None
    p.validate()
    try:
        runs = series_params(p, dates, start, closure=closure, reopen=reopen) if dates != 1 else [p]
        layouts = [make_layout(r.layout) for r in runs]
    except ValueError as exc:  # a reopening before the closure, trucks that do not fit
        raise GeotallyError(str(exc)) from None
    out = _out_folder(out_dir)
    with _staged(out, replace_run=True) as stage:
        return [_write_files(stage, out, r, f"scene_{r.date}" if dates > 1 else "scene", lay)
                for r, lay in zip(runs, layouts)]


def _write_files(stage: Path, out: Path, p: SynthParams, name: str, layout: Layout) -> dict:
    """Write the scene's files into ``stage``; the returned paths are where they will lie in ``out``."""
    img, _ = render(layout, p)
    x0, y0 = _origin()
    h, w = img.shape[:2]
    transform = Affine(p.gsd, 0, x0, 0, -p.gsd, y0 + h * p.gsd)
    tif = stage / f"{name}.tif"
    profile = dict(driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=UTM38N, transform=transform,
                   tiled=True, blockxsize=512, blockysize=512, compress="deflate", zlevel=1, predictor=2,
                   photometric="RGB")
    with rasterio.open(tif, "w", **profile) as dst:
        dst.write(np.moveaxis(img, -1, 0))
        if p.date:
            dst.update_tags(ACQUISITION_DATE=p.date)
    scene_box = box(0, 0, w * p.gsd, h * p.gsd)
    _geojson(stage / "border.geojson", [{"type": "Feature", "properties": {"name": "border", "left": layout.params.sides[0], "right": layout.params.sides[1]},
                                       "geometry": mapping(_shift(layout.border, x0, y0))}])
    _geojson(stage / "sides.geojson", [{"type": "Feature", "properties": {"name": s},
                                      "geometry": mapping(_shift(poly.intersection(scene_box.buffer(50)), x0, y0))}
                                     for s, poly in layout.side_polygons.items()])
    # The road network: the crossing's trunk road, named, with the bend the layout gave it.
    _geojson(stage / "roads.geojson", [{"type": "Feature", "properties": {"id": "R1", "highway": "trunk",
                                                                        "name": "Crossing road", "ref": "R1",
                                                                        "oneway": "no"},
                                      "geometry": mapping(_shift(layout.road, x0, y0))}])
    truth = []
    for i, v in enumerate(layout.vehicles):
        props = {k: (round(val, 3) if isinstance(val, float) else val) for k, val in v.items() if k not in ("x", "y")}
        props["id"] = i
        props["class"] = props.pop("cls")
        truth.append({"type": "Feature", "properties": props, "geometry": mapping(_shift(footprint(v), x0, y0))})
    _geojson(stage / f"{name}_truth.geojson", truth)
    counts = truth_counts(layout.vehicles, list(layout.side_polygons))
    return {"scene": str(out / tif.name), "border": str(out / "border.geojson"), "sides": str(out / "sides.geojson"),
            "roads": str(out / "roads.geojson"), "truth": str(out / f"{name}_truth.geojson"), "counts": counts, "layout": layout, "date": p.date}
