"""detections.kml for Google Earth: what the report's map shows, in folders.

Vehicles are placemarks named by class and detection id (the ``det_id`` to cite), dated where the
run has dates (Google Earth's time slider), and coloured per class (the report's colours);
zones, the border and queues have folders of their own. Coordinates are WGS84, so the scene
must have a CRS.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import numpy as np
import shapely

from geotally.errors import GeotallyError
from geotally.report.payload import CLASS_COLOURS, OTHER_COLOUR

LAYER_COLOURS = {"zones": "#ffff00", "border": "#ff00ff", "queues": "#00e5ff"}


def _abgr(hex_colour: str, alpha: int = 255) -> str:
    """'#rrggbb' as KML's aabbggrr."""
    r, g, b = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"{alpha:02x}{b}{g}{r}"


def _style(sid: str, colour: str, fill_alpha: int) -> str:
    return (f'<Style id="{sid}"><LineStyle><color>{_abgr(colour)}</color><width>2</width></LineStyle>'
            f'<PolyStyle><color>{_abgr(colour, fill_alpha)}</color></PolyStyle></Style>')


def _coords(geom) -> list[str]:
    """Each ring or line of a geometry as KML coordinate text (lon,lat)."""
    parts = shapely.get_parts(np.array([geom], dtype=object))
    out = []
    for part in parts:
        line = part.exterior if hasattr(part, "exterior") else part
        xy = shapely.get_coordinates(line)
        out.append(" ".join(f"{x:.7f},{y:.7f}" for x, y in xy))
    return out


def _shape(geom) -> str:
    rings = _coords(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        polys = [f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{c}</coordinates></LinearRing>"
                 f"</outerBoundaryIs></Polygon>" for c in rings]
    else:
        polys = [f"<LineString><coordinates>{c}</coordinates></LineString>" for c in rings]
    return polys[0] if len(polys) == 1 else f"<MultiGeometry>{''.join(polys)}</MultiGeometry>"


def _placemark(name: str, style: str, geom, description: str = "", when: str | None = None) -> str:
    desc = f"<description>{escape(description)}</description>" if description else ""
    stamp = f"<TimeStamp><when>{escape(when)}</when></TimeStamp>" if when else ""
    return (f"<Placemark><name>{escape(name)}</name>{desc}{stamp}<styleUrl>#{style}</styleUrl>{_shape(geom)}"
            "</Placemark>")


def _dated(value) -> bool:
    return isinstance(value, str) and bool(value.strip())


def write_kml(result, path: str | Path) -> Path:
    """Vehicles, zones, border and queues of a count as one KML file with a folder each."""
    sc = result.scene
    if sc.crs is None:
        raise GeotallyError("--export kml needs a georeferenced scene")
    det = result.detections.to_crs("EPSG:4326")
    classes = list(dict.fromkeys(det["class"].tolist())) if len(det) else []
    styles = [_style(f"class-{i}", CLASS_COLOURS.get(c, OTHER_COLOUR), 96) for i, c in enumerate(classes)]
    styles += [_style(k, c, 40 if k == "zones" else 0) for k, c in LAYER_COLOURS.items()]
    cls_index = {c: i for i, c in enumerate(classes)}
    marks = [_placemark(f"{row['class']} {row.get('det_id') or i}", f"class-{cls_index[row['class']]}", geom,
                        f"score {row['score']:.2f}, length {row['length_m']:.1f} m, zone {row['zone']}"
                        + (f", queue {row['queue_id']}" if row.get("queue_id", -1) >= 0 else "")
                        + (f", {row['date']}" if _dated(row.get("date")) else ""),
                        row["date"] if _dated(row.get("date")) else None)
             for i, (row, geom) in enumerate(zip(det.to_dict("records"), det.geometry.values))]
    folders = [("vehicles", marks)]
    if result.zones is not None:
        import geopandas as gpd

        zones = gpd.GeoSeries(list(result.zones.polygons), crs=sc.crs).to_crs("EPSG:4326")
        folders.append(("zones", [_placemark(str(n), "zones", g) for n, g in zip(result.zones.names, zones)]))
    if result.border_line is not None:
        import geopandas as gpd

        line = gpd.GeoSeries([result.border_line], crs=sc.crs).to_crs("EPSG:4326").iloc[0]
        folders.append(("border", [_placemark("border", "border", line)]))
    if result.queues is not None and len(result.queues):
        q = result.queues.to_crs("EPSG:4326")
        folders.append(("queues", [_placemark(f"queue {r['queue_id']}", "queues", g)
                                   for r, g in zip(q.drop(columns="geometry").to_dict("records"), q.geometry.values)]))
    body = "".join(f"<Folder><name>{name}</name>{''.join(items)}</Folder>" for name, items in folders)
    title = escape(Path(sc.path).name)
    path = Path(path)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                    f"<name>geotally: {title}</name>{''.join(styles)}{body}</Document></kml>\n", encoding="utf-8")
    return path
