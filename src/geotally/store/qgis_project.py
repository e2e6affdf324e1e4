"""project.qgs beside the results: the run as a QGIS project that opens styled, over its scene.

The project holds every vector layer of the folder with geotally's style (the one its GeoPackage
carries too), the zones and the border (written to ``zones.gpkg`` for it), the scenes as raster
layers by relative path, and a georeferenced picture of the first scene (``preview.tif``, from the
report's picture) that travels with the folder, so the map has its imagery even when the folder is
moved or shared without the scenes. Zones are spatial bookmarks; the run's provenance (model and
its sha256, parameters, each scene's sha256) is in the project's metadata. The XML is generated
here; all paths in it are relative to the project file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import shapely

from geotally.store import styles
from geotally.store.outputs import write_text, write_vector
from geotally.store.summary import RunSummary

PROJECT = "project.qgs"
PREVIEW = "preview.tif"
CONTEXT = "zones.gpkg"
IMAGED = "imaged"  # its layer of what each date imaged
# Layers of the results folder, top of the map first, with their geometry for QGIS.
VECTOR_LAYERS = (("queues", "Line"), ("detections", "Polygon"), ("route", "Line"), ("roads", "Line"))


class Layer(NamedTuple):
    """One layer of the project: its id, name, data source, provider and <maplayer> element."""

    id: str
    name: str
    source: str
    provider: str
    xml: str


def _srs(crs) -> str:
    """A CRS as QGIS's spatialrefsys element; empty for pixel-space metres (no CRS)."""
    if crs is None:
        return "<spatialrefsys/>"
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    auth = c.to_authority()
    authid = f"{auth[0]}:{auth[1]}" if auth else ""
    return (f"<spatialrefsys><wkt>{escape(c.to_wkt())}</wkt><proj4>{escape(c.to_proj4() or '')}</proj4>"
            f"<authid>{escape(authid)}</authid><description>{escape(c.name)}</description>"
            f"<geographicflag>{'true' if c.is_geographic else 'false'}</geographicflag></spatialrefsys>")


def _style_body(qml: str) -> str:
    """The inside of a QML document's <qgis> element (renderer, labels), for a <maplayer>."""
    start = qml.index(">", qml.index("<qgis ")) + 1
    return qml[start:qml.rindex("</qgis>")]


def _vector(name: str, path: str, table: str, geometry: str, qml: str, srs: str) -> Layer:
    source = f"./{path}|layername={table}"
    labels = 'labelsEnabled="1"' if "<labeling" in qml else 'labelsEnabled="0"'
    xml = (f"<maplayer type=\"vector\" geometry=\"{geometry}\" {labels} hasScaleBasedVisibilityFlag=\"0\" "
           "minScale=\"100000000\" maxScale=\"0\" readOnly=\"0\" styleCategories=\"AllStyleCategories\">"
           f"<id>{name}_geotally</id><datasource>{escape(source)}</datasource>"
           f"<layername>{escape(name)}</layername><srs>{srs}</srs><provider encoding=\"UTF-8\">ogr</provider>"
           f"{_style_body(qml)}</maplayer>")
    return Layer(f"{name}_geotally", name, source, "ogr", xml)


def _raster(layer_id: str, name: str, source: str, srs: str, bands: tuple[int, int, int], stretch: bool) -> str:
    """An RGB raster layer; ``stretch`` (not 8-bit) stretches each band to its min and max."""
    algo = "StretchToMinimumMaximum" if stretch else "NoEnhancement"
    enh = "".join(f"<{c}ContrastEnhancement><minValue>0</minValue><maxValue>255</maxValue><algorithm>{algo}</algorithm>"
                  f"</{c}ContrastEnhancement>" for c in ("red", "green", "blue")) if not stretch else ""
    return (f"<maplayer type=\"raster\" hasScaleBasedVisibilityFlag=\"0\" minScale=\"100000000\" maxScale=\"0\" "
            f"styleCategories=\"AllStyleCategories\"><id>{layer_id}</id><datasource>{escape(source)}</datasource>"
            f"<layername>{escape(name)}</layername><srs>{srs}</srs><provider>gdal</provider>"
            f"<pipe><rasterrenderer type=\"multibandcolor\" opacity=\"1\" alphaBand=\"-1\" redBand=\"{bands[0]}\" "
            f"greenBand=\"{bands[1]}\" blueBand=\"{bands[2]}\" nodataColor=\"\"><rasterTransparency/>{enh}"
            "</rasterrenderer></pipe></maplayer>")


def _relative(path: str | os.PathLike, folder: Path) -> str:
    """``path`` relative to the results folder (``folder`` is its staging twin beside it)."""
    rel = os.path.relpath(Path(path).resolve(), folder.resolve())
    return rel if rel.startswith("..") else f"./{rel}"


def write_preview(path: Path, picture: np.ndarray, transform, width: int, height: int, crs) -> None:
    """The scene's picture (h, w, 3 uint8) as a GeoTIFF on the scene's footprint."""
    import rasterio
    from affine import Affine

    h, w = picture.shape[:2]
    t = transform * Affine.scale(width / w, height / h)
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=3, dtype="uint8", crs=crs, transform=t,
                       compress="jpeg", jpeg_quality=85, photometric="YCBCR") as dst:
        dst.write(np.moveaxis(picture, -1, 0))


def _bookmarks(names: Iterable[str], polygons: Iterable, srs: str) -> str:
    marks = []
    for i, (name, poly) in enumerate(zip(names, polygons)):
        x0, y0, x1, y1 = shapely.bounds(poly)
        marks.append(f"<Bookmark id=\"zone-{i + 1}\" name={quoteattr(str(name))} group=\"zones\" "
                     f"extent=\"{shapely.box(x0, y0, x1, y1).wkt}\">{srs}</Bookmark>")
    return f"<Bookmarks>{''.join(marks)}</Bookmarks>"


def provenance(summary: RunSummary) -> dict:
    """What the project's metadata says about the run."""
    return {"geotally_version": summary.geotally_version, "created_utc": summary.created_utc,
            "model": summary.model.name or summary.model.file, "model_sha256": summary.model.sha256,
            "scenes": dict(zip(summary.scene_labels, (s.sha256 for s in summary.scenes))),
            "parameters": summary.parameters}


def write_project(stage: Path, summary: RunSummary, *, crs, preview: np.ndarray | None = None, scene=None,
                  zones=None, border=None, imaged: gpd.GeoDataFrame | None = None, preview_written: bool = False) -> Path:
    """Write project.qgs (and zones.gpkg, preview.tif when there is something to put in them) into
    ``stage``, after the results' layers (it lists those present); ``scene`` is the first scene (its
    grid places the preview), ``zones`` the run's Zones and ``border`` the border line in the run's CRS.
    ``imaged``: what each date imaged, beside the zones (``geotally change`` compares it).
    ``preview_written``: preview.tif is already there (CountResult.write makes it beside the rest)."""
    srs = _srs(crs)
    layers: list[Layer] = []  # top of the map first
    if zones is not None and len(zones.names):
        ctx = gpd.GeoDataFrame({"name": [str(n) for n in zones.names]}, geometry=list(zones.polygons), crs=crs)
        write_vector(ctx, stage / CONTEXT, layer="zones")
    if border is not None and not shapely.is_empty(border):
        write_vector(gpd.GeoDataFrame({"name": ["border"]}, geometry=[border], crs=crs), stage / CONTEXT, layer="border")
    if imaged is not None and not shapely.is_empty(imaged.geometry.to_numpy()).all():  # change reads it, zones or none
        write_vector(imaged, stage / CONTEXT, layer=IMAGED)
    if (stage / CONTEXT).exists():
        styles.write_styles(stage / CONTEXT)
        import pyogrio

        present = {n for n, _ in pyogrio.list_layers(stage / CONTEXT)}
        for name, geometry, qml in (("zones", "Polygon", styles.zones_qml()), ("border", "Line", styles.border_qml()),
                                    (IMAGED, "Polygon", styles.imaged_qml())):
            if name in present:
                layers.append(_vector(name, CONTEXT, name, geometry, qml, srs))
    for name, geometry in VECTOR_LAYERS:
        if (stage / f"{name}.gpkg").exists():
            layers.append(_vector(name, f"{name}.gpkg", name, geometry, styles.STYLES[name](), srs))
    for i, (s, label) in enumerate(zip(summary.scenes, summary.scene_labels), 1):
        if not s.georeferenced:  # its pixels would lie in pixel units beside metres; the preview is placed
            continue
        used = list(s.bands_used) or [1]
        bands = tuple(used[:3]) if len(used) >= 3 else (used[0],) * 3
        source = _relative(s.path, stage)
        # ids end in _geotally: QGIS 3.22 replaces short ids like "scene_1" with random ones on reading
        layers.append(Layer(f"scene{i}_geotally", label, source, "gdal",
                            _raster(f"scene{i}_geotally", label, source, srs, bands, s.dtype != "uint8")))
    if preview is not None and scene is not None:
        if not preview_written:
            write_preview(stage / PREVIEW, preview, scene.transform, scene.width, scene.height, crs)
        name = f"{summary.scenes[0].name} (preview)"
        layers.append(Layer("preview_geotally", name, f"./{PREVIEW}", "gdal",
                            _raster("preview_geotally", name, f"./{PREVIEW}", srs, (1, 2, 3), False)))
    bounds = _extent(stage, scene)
    tree = "".join(f"<layer-tree-layer id={quoteattr(x.id)} name={quoteattr(x.name)} source={quoteattr(x.source)} "
                   f"providerKey=\"{x.provider}\" checked=\"Qt::Checked\" expanded=\"0\"><customproperties/>"
                   "</layer-tree-layer>" for x in layers)
    prov = provenance(summary)
    abstract = (f"geotally {summary.geotally_version} count of {', '.join(prov['scenes'])} "
                f"with model {prov['model']} (sha256 {summary.model.sha256}); scene sha256: "
                + "; ".join(f"{n} {h}" for n, h in prov["scenes"].items())
                + f". Parameters: {json.dumps(summary.parameters, sort_keys=True, default=str)}")
    keywords = "".join(f"<keyword>{escape(k)}</keyword>" for k in
                       [f"model:{prov['model']}", f"model_sha256:{summary.model.sha256}",
                        *(f"scene_sha256:{n}:{h}" for n, h in prov["scenes"].items())])
    canvas = ""
    if bounds is not None:
        x0, y0, x1, y1 = bounds
        canvas = (f"<mapcanvas name=\"theMapCanvas\" annotationsVisible=\"1\"><units>meters</units><extent>"
                  f"<xmin>{x0!r}</xmin><ymin>{y0!r}</ymin><xmax>{x1!r}</xmax><ymax>{y1!r}</ymax></extent>"
                  f"<rotation>0</rotation><destinationsrs>{srs}</destinationsrs><rendermaptile>0</rendermaptile>"
                  "</mapcanvas>")
    marks = _bookmarks(zones.names, zones.polygons, srs) if zones is not None else "<Bookmarks/>"
    doc = ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
           f"<qgis projectname=\"geotally\" version=\"3.22.0\">"
           f"<homePath path=\"\"/><title>geotally count</title><projectCrs>{srs}</projectCrs>"
           f"<layer-tree-group><customproperties/>{tree}</layer-tree-group>"
           f"<projectlayers>{''.join(x.xml for x in layers)}</projectlayers>"
           f"<layerorder>{''.join(f'<layer id={quoteattr(x.id)}/>' for x in layers)}</layerorder>"
           f"{canvas}{marks}"
           "<properties><Paths><Absolute type=\"bool\">false</Absolute></Paths>"
           # QGIS reads <projectCrs> only with ProjectionsEnabled set
           "<SpatialRefSys><ProjectionsEnabled type=\"int\">1</ProjectionsEnabled></SpatialRefSys>"
           f"<geotally><provenance type=\"QString\">{escape(json.dumps(prov, default=str))}</provenance></geotally>"
           "</properties>"
           f"<projectMetadata><identifier>{escape(summary.created_utc)}</identifier><parentidentifier/>"
           f"<language/><type>dataset</type><title>geotally count</title><abstract>{escape(abstract)}</abstract>"
           f"<keywords vocabulary=\"geotally\">{keywords}</keywords><author>geotally {summary.geotally_version}</author>"
           f"<creation>{escape(summary.created_utc)}</creation></projectMetadata>"
           "</qgis>\n")
    write_text(stage / PROJECT, doc)
    return stage / PROJECT


def _extent(stage: Path, scene) -> tuple[float, float, float, float] | None:
    """The first scene's footprint, where the project opens."""
    if scene is None:
        return None
    from rasterio.transform import array_bounds

    west, south, east, north = array_bounds(scene.height, scene.width, scene.transform)
    return (west, south, east, north)
