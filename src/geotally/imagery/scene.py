"""A scene: one raster file opened through rasterio, with what detection needs to know of it."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from geotally.errors import GeotallyError, check_file, first_line
from geotally.imagery.checksum import scene_sha256
from geotally.imagery.gsd import pixel_size_m
from geotally.imagery.offline import check_local, rasters_offline
from geotally.imagery.remote import provenance


@dataclass(frozen=True)
class Scene:
    """Plain description of a scene; the file is reopened wherever pixels are read."""

    path: str
    width: int
    height: int
    count: int
    dtype: str
    crs: CRS | None
    transform: Affine
    nodata: float | None
    bands: tuple[int, int, int]
    gsd: tuple[float, float]
    stretch: tuple[tuple[float, float], ...] | None = None
    georeferenced: bool = True
    sha256: str = field(default="", compare=False)
    # A band of colour-table indices: the table's (r, g, b) for each index, read as those colours
    palette: tuple[tuple[int, int, int], ...] | None = field(default=None, compare=False, repr=False)
    sidecars: tuple[str, ...] = field(default=(), compare=False)  # files GDAL reads beside it: world file, .aux.xml

    @property
    def gsd_m(self) -> float:
        """Mean ground sample distance in metres."""
        return float(np.sqrt(self.gsd[0] * self.gsd[1]))

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    def describe(self) -> dict:
        """Provenance record for summary.json."""
        return {
            "path": str(Path(self.path).resolve()),
            "width": self.width,
            "height": self.height,
            "bands_used": list(self.bands),
            "dtype": self.dtype,
            "crs": self.crs.to_string() if self.crs else None,
            "gsd_m": [round(self.gsd[0], 5), round(self.gsd[1], 5)],
            "georeferenced": self.georeferenced,
            "sha256": self.sha256,
            "bytes": os.path.getsize(self.path),
            **({"sidecars": [str(Path(f).resolve()) for f in self.sidecars]} if self.sidecars else {}),
            **({"remote": remote} if (remote := provenance(self.path)) else {}),  # a crop of a remote COG
        }


def _pick_bands(src: rasterio.DatasetReader, bands: tuple[int, ...] | None) -> tuple[int, int, int]:
    if bands:
        if len(bands) not in (1, 3):
            raise GeotallyError(f"--bands takes 1 or 3 band numbers, got {len(bands)}")
        bad = [b for b in bands if not 1 <= b <= src.count]
        if bad:
            raise GeotallyError(f"--bands {bad[0]} is out of range: {src.name} has bands 1..{src.count}")
        return (bands[0],) * 3 if len(bands) == 1 else tuple(bands)  # type: ignore[return-value]
    interp = list(src.colorinterp)
    lookup = {ci: i + 1 for i, ci in reversed(list(enumerate(interp)))}
    if all(c in lookup for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)):
        return lookup[ColorInterp.red], lookup[ColorInterp.green], lookup[ColorInterp.blue]
    usable = [i + 1 for i, ci in enumerate(interp) if ci != ColorInterp.alpha]
    if not usable:
        raise GeotallyError(f"{src.name} has only alpha bands; pass --bands")
    if len(usable) < 3:
        return (usable[0],) * 3
    return usable[0], usable[1], usable[2]


def _palette(src: rasterio.DatasetReader, bands: tuple[int, int, int]) -> tuple[tuple[int, int, int], ...] | None:
    """The colour table of the one band used, where it is a band of colour-table indices."""
    if len(set(bands)) != 1 or src.colorinterp[bands[0] - 1] != ColorInterp.palette:
        return None
    try:
        table = src.colormap(bands[0])
    except ValueError:  # a palette band without a table: grey it is
        return None
    size = max(table) + 1 if table else 0
    return tuple(tuple(int(v) for v in table.get(i, (0, 0, 0))[:3]) for i in range(size)) or None


def _percentile_stretch(src: rasterio.DatasetReader, bands: tuple[int, int, int],
                        lo: float = 0.1, hi: float = 99.99) -> tuple[tuple[float, float], ...] | None:
    """Per-band percentile limits from a decimated read, used for every tile alike.

    The limits are wide (0.1-99.99%): vehicles are small, rare and often the brightest
    things in a scene, and a display-style 2-98% stretch clipped them to white (on a 16-bit
    copy of the demo scene it lost 55% of the trucks; this keeps all of them). The limits are at
    least one unit apart for whole numbers, and a thousandth of the values' size for floats
    (reflectance in 0..0.05 is a whole scene's range, not a tenth of one unit).
    """
    kind = np.dtype(src.dtypes[bands[0] - 1])
    if kind == np.uint8:
        return None
    scale = max(1, int(np.ceil(max(src.width, src.height) / 1024)))
    shape = (max(1, src.height // scale), max(1, src.width // scale))
    limits = []
    for b in bands:
        data = src.read(b, out_shape=shape, resampling=Resampling.nearest, masked=True)
        values = data.compressed()
        values = values[np.isfinite(values)]  # NaN and inf are no data, tagged or not
        if values.size == 0:
            limits.append((0.0, 1.0))
            continue
        p_lo, p_hi = np.percentile(values, [lo, hi])
        least = max(abs(p_lo), abs(p_hi), 1e-30) * 1e-3 if kind.kind == "f" else 1.0
        limits.append((float(p_lo), float(max(p_hi, p_lo + least))))
    return tuple(limits)


# How a whole PNG (its IEND chunk) and a whole JPEG (its end-of-image marker) end. These formats are
# decoded from the start, so reading their last row decodes the whole image: 16 ms a SIMD scene at
# 0.15 m, as long again as detection's own read; their end is checked instead.
_WHOLE_END = {"PNG": b"IEND\xaeB`\x82", "JPEG": b"\xff\xd9"}


def _ends_whole(src: rasterio.DatasetReader, name: str) -> bool:
    """Whether ``name`` is a PNG or JPEG file that ends as a whole one does (not cut short)."""
    end = _WHOLE_END.get(src.driver)
    if end is None:
        return False
    try:
        with open(name, "rb") as fh:
            fh.seek(-len(end), os.SEEK_END)
            return fh.read() == end
    except OSError:
        return False


def _listed_files(src: rasterio.DatasetReader) -> list[str]:
    """The local files GDAL says make up the dataset (a VRT's sources, a scene's sidecars among them), as
    absolute paths (GDAL lists them as opened: relative to the working folder); none if it cannot say."""
    try:
        files = [str(f) for f in src.files]
    except Exception:  # noqa: BLE001 - only a better message and the sidecars depend on it
        return []
    return [os.path.abspath(f) for f in files if "://" not in f and not f.startswith("/vsi")]


def _sidecars(src: rasterio.DatasetReader, name: str) -> tuple[str, ...]:
    """The files beside a (non-VRT) raster that GDAL reads with it: a world file, .aux.xml, .msk, .ovr."""
    if src.driver == "VRT":  # its sources are the scene, not sidecars
        return ()
    own = os.path.realpath(name)
    return tuple(f for f in _listed_files(src) if os.path.realpath(f) != own and os.path.isfile(f))


def _check_readable(src: rasterio.DatasetReader, name: str) -> None:
    """Read the first and last blocks so a truncated file fails now, not hours in. A PNG or JPEG
    that ends whole is read at its first pixel only; damage inside it fails there or as detection
    reads it, with one line either way (geotally.imagery.read.read_tile). Reading no pixel at all
    let a damaged PNG through: GDAL's windowed read of it gave pixels without an error."""
    last = not _ends_whole(src, name)
    try:
        for b in sorted(set(src.indexes[:1] + src.indexes[-1:])):
            src.read(b, window=((0, 1), (0, 1)))
            if last:
                src.read(b, window=((src.height - 1, src.height), (src.width - 1, src.width)))
    except RasterioIOError as exc:
        gdal = first_line(exc).replace(' See previous exception for details.', '')
        missing = [f for f in _listed_files(src) if not os.path.exists(f)]
        if missing:  # a VRT naming a file that is not there: nothing to re-download
            raise GeotallyError(f"{name} cannot be read: it refers to {missing[0]}, which is missing; put the file "
                                "back, or fix the reference") from None
        raise GeotallyError(f"{name} cannot be read: the raster is truncated or corrupt "
                            f"(GDAL: {gdal}); re-download or re-export it") from None


def _no_georeference(src: rasterio.DatasetReader, name: str) -> str:
    """Why a scene cannot be placed, and what to do: warp one placed by control points or RPCs (GDAL
    does, and geotally counts the result), or give the GSD to count in pixel space."""
    if src.gcps[0]:
        return (f"{name} is placed by ground control points, not a geotransform; warp it first (gdalwarp -t_srs "
                f"EPSG:CODE {name} warped.tif) and count the result, or pass --gsd METRES to count in pixel space")
    if src.rpcs is not None:
        return (f"{name} is placed by RPCs (a raw, unprojected product); orthorectify it first (gdalwarp -rpc "
                f"-t_srs EPSG:CODE {name} ortho.tif), or pass --gsd METRES to count in pixel space")
    return f"{name} has no georeference (no CRS); pass --gsd METRES to count in pixel space"


def open_scene(path: str | os.PathLike, *, bands: tuple[int, ...] | None = None,
               gsd: float | None = None, checksum: bool = True) -> Scene:
    """Open a raster, check it can be read, and describe it.

    ``gsd`` (metres) is required for images with no georeference and overrides
    the computed GSD otherwise.
    """
    name = str(path)
    check_file(name, "scene")
    if gsd is not None and not gsd > 0:
        raise GeotallyError(f"--gsd must be a positive number of metres, got {gsd}")
    check_local(name)
    try:
        with warnings.catch_warnings(), rasters_offline():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(name)
    except RasterioIOError as exc:
        raise GeotallyError(f"{name} is not a raster that GDAL can read: {first_line(exc)}") from None
    with src, rasters_offline():
        _check_readable(src, name)
        georeferenced = src.crs is not None and not src.transform.is_identity
        if georeferenced:
            crs, transform = CRS.from_user_input(src.crs), src.transform
            size = (float(gsd), float(gsd)) if gsd else pixel_size_m(transform, crs, src.width, src.height)
        else:
            if gsd is None:
                raise GeotallyError(_no_georeference(src, name))
            crs, transform = None, Affine.scale(gsd, -gsd)
            size = (float(gsd), float(gsd))
        picked = _pick_bands(src, bands)
        kinds = {src.dtypes[b - 1] for b in picked}
        if any(np.dtype(k).kind == "c" for k in kinds):  # radar (SLC) and other complex rasters: no picture
            raise GeotallyError(f"{name} holds complex numbers ({', '.join(sorted(kinds))}), not an image's "
                                "brightness; give an optical image (or its amplitude as a real-valued raster)")
        palette, sidecars = _palette(src, picked), _sidecars(src, name)
        scene = Scene(
            path=name, width=src.width, height=src.height, count=src.count,
            dtype=src.dtypes[picked[0] - 1], crs=crs, transform=transform,
            nodata=src.nodata, bands=picked, gsd=size,
            stretch=None if palette else _percentile_stretch(src, picked), georeferenced=georeferenced,
            sha256=scene_sha256(name, sidecars) if checksum else "", palette=palette, sidecars=sidecars,
        )
    return scene
