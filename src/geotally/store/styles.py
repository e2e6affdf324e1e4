"""QGIS default styles inside the GeoPackages geotally writes.

QGIS reads a layer's default style from the ``layer_styles`` table of its GeoPackage (the row whose
``f_table_name`` is the layer and ``useAsDefault`` is true, its ``styleQML`` the style). This module
generates the QML itself and writes the table with plain sqlite3, so ``detections.gpkg`` opens in
QGIS as the report's map: vehicles filled by class in the report's colours and outlined by score,
labelled with ``det_id`` at close scales; queues as lines as wide as their lanes, coloured by their
large vehicles; zones labelled by name; the border; roads by vehicles per km; review decisions by
action. Only the new table is added: the layers' own rows and columns stay as they were written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from xml.sax.saxutils import quoteattr

# The report's colours (report/payload.py holds the same: a test keeps the two equal; store comes
# before report in the data flow, so it cannot import them).
CLASS_COLOURS = {"large_vehicle": "#ff7f0e", "small_vehicle": "#1f77b4"}
OTHER_COLOUR = "#bbbbbb"
QUEUE_COLOUR = "#00e5ff"
BORDER_COLOUR = "#ff00ff"
ZONE_COLOUR = "#ffff00"
# Vehicles per km of road: upper bounds and colours, as the report's road layer.
ROAD_CLASSES = ((0.0, "#9e9e9e"), (5.0, "#ffe082"), (20.0, "#ffb300"), (50.0, "#f4511e"), (1e9, "#b71c1c"))
# Large vehicles in a queue line: upper bounds and colours, light (few) to dark (many).
QUEUE_CLASSES = ((10, "#b2f5ff"), (25, "#00e5ff"), (50, "#0097a7"), (1e9, "#004d57"))
ACTION_COLOURS = {"accept": "#2ca02c", "reject": "#d62728", "relabel": "#ff7f0e", "add": "#1f77b4",
                  "searched": "#7f7f7f", "undo": "#bbbbbb"}
LABEL_MAX_SCALE = 2500  # det_id labels show from 1:2,500 closer in
STYLE_NAME = "geotally"


def _rgba(hex_colour: str, alpha: int = 255) -> str:
    """'#rrggbb' as QGIS writes colours: 'r,g,b,a'."""
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4)) + f",{alpha}"


def _options(props: dict[str, str]) -> str:
    return "<Option type=\"Map\">" + "".join(
        f"<Option type=\"QString\" name={quoteattr(k)} value={quoteattr(str(v))}/>" for k, v in props.items()) + "</Option>"


def _data_defined(expressions: dict[str, str]) -> str:
    """Data-defined properties (property key -> QGIS expression), as a symbol layer carries them."""
    props = "".join(
        f"<Option type=\"Map\" name={quoteattr(key)}><Option type=\"bool\" name=\"active\" value=\"true\"/>"
        f"<Option type=\"QString\" name=\"expression\" value={quoteattr(expr)}/>"
        f"<Option type=\"int\" name=\"type\" value=\"3\"/></Option>" for key, expr in expressions.items())
    return ("<data_defined_properties><Option type=\"Map\"><Option type=\"QString\" name=\"name\" value=\"\"/>"
            f"<Option type=\"Map\" name=\"properties\">{props}</Option>"
            "<Option type=\"QString\" name=\"type\" value=\"collection\"/></Option></data_defined_properties>")


def _symbol(kind: str, name: str, layer_class: str, props: dict[str, str], dd: dict[str, str] | None = None) -> str:
    """One symbol (``kind`` fill or line) of one symbol layer."""
    return (f"<symbol type=\"{kind}\" name={quoteattr(name)} alpha=\"1\" clip_to_extent=\"1\" force_rhr=\"0\">"
            f"<layer class=\"{layer_class}\" enabled=\"1\" locked=\"0\" pass=\"0\">{_options(props)}"
            f"{_data_defined(dd or {})}</layer></symbol>")


def _fill(name: str, fill: str, outline: str, width: float, fill_alpha: int = 255,
          dd: dict[str, str] | None = None) -> str:
    return _symbol("fill", name, "SimpleFill", {
        "color": _rgba(fill, fill_alpha), "style": "solid" if fill_alpha else "no",
        "outline_color": _rgba(outline), "outline_style": "solid", "outline_width": f"{width}",
        "outline_width_unit": "MM", "joinstyle": "miter"}, dd)


def _line(name: str, colour: str, width: float, dd: dict[str, str] | None = None) -> str:
    return _symbol("line", name, "SimpleLine", {
        "line_color": _rgba(colour), "line_style": "solid", "line_width": f"{width}", "line_width_unit": "MM",
        "capstyle": "round", "joinstyle": "round"}, dd)


def _labels(field: str, size: float, max_scale: float | None = None) -> str:
    """Simple labelling by ``field`` (white halo), shown only closer than 1:``max_scale`` when given."""
    scale = (f"scaleVisibility=\"1\" scaleMin=\"1\" scaleMax=\"{max_scale:g}\"" if max_scale
             else "scaleVisibility=\"0\" scaleMin=\"0\" scaleMax=\"0\"")
    return ("<labeling type=\"simple\"><settings calloutType=\"simple\">"
            f"<text-style fieldName={quoteattr(field)} isExpression=\"0\" fontSize=\"{size:g}\" fontSizeUnit=\"Point\" "
            "textColor=\"0,0,0,255\" textOpacity=\"1\" fontWeight=\"50\" namedStyle=\"Regular\">"
            "<text-buffer bufferDraw=\"1\" bufferSize=\"0.8\" bufferSizeUnits=\"MM\" bufferColor=\"255,255,255,255\" "
            "bufferOpacity=\"1\" bufferJoinStyle=\"128\" bufferNoFill=\"1\"/></text-style>"
            "<placement placement=\"0\" offsetType=\"0\" dist=\"1\" priority=\"5\"/>"
            f"<rendering {scale} obstacle=\"1\" upsidedownLabels=\"0\" displayAll=\"0\"/>"
            "</settings></labeling>")


def _qml(renderer: str, geometry: int, labels: str = "") -> str:
    """A whole QML document: renderer, optional labels; ``geometry`` 0 point, 1 line, 2 polygon."""
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f"<qgis version=\"3.22.0\" styleCategories=\"AllStyleCategories\" labelsEnabled=\"{int(bool(labels))}\" "
            "hasScaleBasedVisibilityFlag=\"0\" minScale=\"100000000\" maxScale=\"0\">"
            f"{renderer}{labels}<layerGeometryType>{geometry}</layerGeometryType></qgis>\n")


def _categorised(attr: str, kind: str, categories: dict[str, str], make: Callable[[str, str], str],
                 other: str | None) -> str:
    """A categorised renderer on ``attr``; ``make(name, colour)`` gives each category's symbol and
    ``other`` (a colour) adds a category for every other value."""
    items = list(categories.items()) + ([("", other)] if other else [])
    cats = "".join(f"<category render=\"true\" symbol=\"{i}\" value={quoteattr(v)} label={quoteattr(v or 'other')}/>"
                   for i, (v, _) in enumerate(items))
    syms = "".join(make(str(i), c) for i, (_, c) in enumerate(items))
    return (f"<renderer-v2 type=\"categorizedSymbol\" attr={quoteattr(attr)} symbollevels=\"0\" enableorderby=\"0\" "
            f"forceraster=\"0\"><categories>{cats}</categories><symbols>{syms}</symbols></renderer-v2>")


def _graduated(attr: str, bounds: tuple[tuple[float, str], ...], make: Callable[[str, str], str],
               lowest: float = 0.0) -> str:
    """A graduated renderer on ``attr`` (a field or an expression): one range per (upper bound, colour)."""
    ranges, syms, lower = [], [], lowest
    for i, (upper, colour) in enumerate(bounds):
        label = f"> {lower:g}" if upper >= 1e9 else (f"{lower:g} - {upper:g}" if i else f"<= {upper:g}")
        ranges.append(f"<range render=\"true\" symbol=\"{i}\" lower=\"{lower:.6f}\" upper=\"{upper:.6f}\" "
                      f"label={quoteattr(label)}/>")
        syms.append(make(str(i), colour))
        lower = upper
    return (f"<renderer-v2 type=\"graduatedSymbol\" attr={quoteattr(attr)} graduatedMethod=\"GraduatedColor\" "
            f"symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\"><ranges>{''.join(ranges)}</ranges>"
            f"<symbols>{''.join(syms)}</symbols><mode name=\"fixed\"/></renderer-v2>")


def _single(symbol: str) -> str:
    return (f"<renderer-v2 type=\"singleSymbol\" symbollevels=\"0\" enableorderby=\"0\" forceraster=\"0\">"
            f"<symbols>{symbol}</symbols></renderer-v2>")


def detections_qml() -> str:
    """Vehicles filled by class (the report's colours, half transparent), the outline as wide as the
    score is high, labelled with ``det_id`` from 1:2,500 in."""
    width = {"outlineWidth": "0.15 + 0.6 * coalesce(\"score\", 0)"}
    return _qml(_categorised("class", "fill", CLASS_COLOURS,
                             lambda n, c: _fill(n, c, c, 0.4, fill_alpha=150, dd=width), OTHER_COLOUR),
                2, _labels("det_id", 7, LABEL_MAX_SCALE))


def queues_qml() -> str:
    """Queue lines as wide as their lanes (0.8 mm per lane), darker the more large vehicles they hold."""
    width = {"outlineWidth": "0.8 * max(coalesce(\"lanes\", 1), 1)"}
    return _qml(_graduated("large_vehicles", QUEUE_CLASSES, lambda n, c: _line(n, c, 0.8, dd=width)), 1)


def roads_qml(detections_layer: str = "detections") -> str:
    """Road segments by vehicles per km, the report's classes: the detections on the segment (the
    ``detections`` layer of the project, by ``road_id``) over its length, per date (the mean of the
    run's dates: dates are never added together); grey without that layer."""
    dates = (f"max(coalesce(aggregate(layer:='{detections_layer}', aggregate:='count_distinct', "
             "expression:=\"date\"), 0), 1)")
    per_km = (f"coalesce(aggregate(layer:='{detections_layer}', aggregate:='count', expression:=\"det_id\", "
              f"filter:=\"road_id\" = attribute(@parent, 'road_id')), 0) * 1000 / max($length, 1) / {dates}")
    return _qml(_graduated(per_km, ROAD_CLASSES, lambda n, c: _line(n, c, 1.2), lowest=-1.0), 1)


def route_qml() -> str:
    """The route's stretches as one broad line."""
    return _qml(_single(_line("0", "#6a3d9a", 1.0)), 1)


def zones_qml(field: str = "name") -> str:
    """Zones as yellow outlines (the report's), labelled by name."""
    return _qml(_single(_fill("0", ZONE_COLOUR, ZONE_COLOUR, 0.6, fill_alpha=0)), 2, _labels(field, 10))


def imaged_qml() -> str:
    """What each date imaged (valid pixels): grey outlines, labelled by date, for checking that two dates
    compared the same ground."""
    return _qml(_single(_fill("0", "#9e9e9e", "#616161", 0.5, fill_alpha=0)), 2, _labels("date", 9))


def border_qml() -> str:
    """The border as a broad magenta line (the report's)."""
    return _qml(_single(_line("0", BORDER_COLOUR, 1.0)), 1)


def decisions_qml() -> str:
    """Review decisions by action: accepted green, rejected red, relabelled orange, added blue."""
    return _qml(_categorised("action", "fill", ACTION_COLOURS,
                             lambda n, c: _fill(n, c, c, 0.5, fill_alpha=90), None), 2)


def sample_qml() -> str:
    """A review sample's units as dashed-free grey outlines."""
    return _qml(_single(_fill("0", "#444444", "#444444", 0.5, fill_alpha=0)), 2)


# The style of each layer geotally writes, by layer name.
STYLES: dict[str, Callable[[], str]] = {
    "detections": detections_qml, "queues": queues_qml, "roads": roads_qml, "route": route_qml,
    "zones": zones_qml, "border": border_qml, "imaged": imaged_qml, "decisions": decisions_qml, "sample": sample_qml,
}

# update_time in the GeoPackage's own DATETIME form (2026-12-07T17:30:26.123Z): SQLite's CURRENT_TIMESTAMP
# ("2026-12-07 17:30:26") made GDAL warn of non-conformant content on every open in QGIS.
_CREATE = ("CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, "
           "f_table_catalog TEXT(256), f_table_schema TEXT(256), f_table_name TEXT(256), "
           "f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, "
           "description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))")


def write_styles(gpkg: str | Path, styles: dict[str, str] | None = None) -> list[str]:
    """Add a default QGIS style for each layer of ``gpkg`` that has one (``styles``: layer -> QML; by
    default :data:`STYLES` by layer name). Returns the layers styled. A style geotally wrote before
    for the same layer is replaced; the layers themselves are not touched."""
    with closing(sqlite3.connect(gpkg)) as db, db:
        geometry = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        chosen = {t: q for t, q in (styles or {t: STYLES[t]() for t in geometry if t in STYLES}).items()
                  if t in geometry}
        if not chosen:
            return []
        db.execute(_CREATE)
        # Registered as an attributes table, as QGIS itself does: a valid GeoPackage lists its tables.
        db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
                   "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles (geotally)')")
        for table, qml in chosen.items():
            db.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?", (table, STYLE_NAME))
            db.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                       "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui) "
                       "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, 'geotally', NULL)",
                       (table, geometry[table], STYLE_NAME, qml, f"geotally's default style for {table}"))
        return sorted(chosen)
