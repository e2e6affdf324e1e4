"""Writing report.html: one file, no network requests, openable anywhere."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from html import escape
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd

from geotally.errors import GeotallyError
from geotally.analysis.coverage import CoverageParams
from geotally.zones.assign import OUTSIDE
from geotally.report.charts import bar_chart, key_values, line_chart, table
from geotally.store.queues import lane_groups
from geotally.store.summary import RunSummary
from geotally.report.payload import MAX_CROPS, ROAD_CLASSES, basemap_affine, crops, payload, quicklook

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{padding:12px 20px;background:#1d2b36;color:#fff}header h1{margin:0;font-size:20px}
main{padding:12px 20px}section{margin:18px 0}
#mapwrap{position:relative}#map{width:100%;height:70vh;background:#222;cursor:grab;display:block}
#controls{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0;align-items:center}
#tip{position:absolute;display:none;background:#000c;color:#fff;padding:4px 8px;border-radius:4px;font-size:12px;pointer-events:none}
table{border-collapse:collapse;margin:8px 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#eef}.kv th{width:220px}figure{display:inline-block;margin:8px 16px 8px 0}
figcaption{font-weight:600;font-size:13px;margin-bottom:4px}.note{color:#8a4b00;font-weight:600}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:middle}
#filters{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0;align-items:center}
#readout{font-family:ui-monospace,monospace;font-size:12px;margin:4px 0}
#selected-box{display:flex;gap:10px;align-items:flex-start;min-height:20px}#selected-crop{max-width:160px;image-rendering:pixelated}
#selected-crop:not([src]){display:none}
#type-filters{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0;align-items:center}
.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;border:1px solid #555}
"""


def _tiles(sc, zoom: int | None = None) -> tuple[list[dict], int]:
    """Web-mercator tiles covering the scene's four corners, at a zoom giving about 1-2 tiles per 256 quicklook px."""
    from geotally.geo.transform import map_to_wgs84, scene_corners

    c = map_to_wgs84(sc.crs, scene_corners(sc.transform, sc.width, sc.height))
    (w, s), (e, n) = c.min(axis=0), c.max(axis=0)
    if zoom is None:
        zoom = int(np.clip(round(math.log2(360 / max(e - w, 1e-9) * 4)), 1, 19))

    def xy(lon, lat):
        k = 2 ** zoom
        return int((lon + 180) / 360 * k), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * k)

    def lonlat(x, y):
        k = 2 ** zoom
        return x / k * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * y / k))))

    x0, y0 = xy(w, n)
    x1, y1 = xy(e, s)
    out = []
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            lw, ln = lonlat(x, y)
            le, ls = lonlat(x + 1, y + 1)
            out.append({"z": zoom, "x": x, "y": y, "key": f"{zoom}/{x}/{y}", "w": lw, "n": ln, "e": le, "s": ls})
    return out[:64], zoom


def _detected(summary: RunSummary) -> list[tuple[str, object]]:
    """When a recount's detections were made: by the counting run, not the recount."""
    when = (summary.recount or {}).get("detected_utc")
    return [("detections made (UTC)", when)] if when else []


def _provenance(summary: RunSummary) -> list[tuple[str, object]]:
    rows = [("geotally version", summary.geotally_version), ("run (UTC)", summary.created_utc),
            *_detected(summary),
            ("report written (UTC)", dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")),
            ("model", summary.model.name or summary.model.file), ("model sha256", summary.model.sha256)]
    for k, sc in enumerate(summary.scenes, 1):
        n = f" {k}" if len(summary.scenes) > 1 else ""
        rows += [(f"scene{n}", sc.path), (f"scene{n} sha256", sc.sha256),
                 (f"scene{n} size", f"{sc.width} x {sc.height} px"), (f"scene{n} CRS", sc.crs),
                 (f"scene{n} GSD (m)", ", ".join(map(str, sc.gsd_m)))]
        if len(summary.scenes) > 1:
            rows += [(f"scene{n} date", sc.date or "undated"),
                     (f"scene{n} detections kept / dropped in overlaps", f"{sc.kept} / {sc.dropped_in_overlaps}")]
    if summary.zones:
        rows += [("zones", summary.zones["file"]), ("zones sha256", summary.zones["sha256"])]
    if summary.border:
        rows += [("border", summary.border["file"]), *([("border sha256", summary.border["sha256"])]
                                                       if summary.border.get("sha256") else []),
                 ("border note", summary.border["note"])]
    if summary.roads:
        rows += [("roads", summary.roads.get("file")), *([("roads sha256", summary.roads["sha256"])]
                                                         if summary.roads.get("sha256") else [])]
    if summary.calibration:
        cal = summary.calibration
        rows += [("calibration", cal["file"]), *([("calibration sha256", cal["file_sha256"])] if cal.get("file_sha256")
                                                 else []),
                 ("calibration made from", cal.get("source") or ""), ("calibration made from, sha256", cal["source_sha256"])]
    for k, v in summary.parameters.items():
        rows.append((f"parameter: {k}", json.dumps(v) if isinstance(v, (dict, list)) else v))
    return rows


def render(result, basemap: str | None = None) -> str:
    """The report as one HTML string."""
    data = payload(result)
    data["quicklook"], _, _ = quicklook(result.scene, result.preview)
    det = result.detections
    if len(det):
        centres = np.asarray(data["xy"], float).reshape(-1, 4, 2).mean(axis=1)
        large = (det["class"].to_numpy() == "large_vehicle").astype(int)
        order = np.lexsort((-det["score"].to_numpy(float), -large))
        if "scene" in det:  # the map and its crops are of the first scene; others' vehicles get no crop
            first = (result.summary.scene_labels or [Path(result.scene.path).name])[0]
            order = order[det["scene"].to_numpy()[order] == first]
        data["crops"] = {str(k): v for k, v in crops(result.scene, centres, det["length_m"].to_numpy(float) / result.scene.gsd_m,
                                                       order).items()}
    else:
        data["crops"] = {}
    crops_note = (f"Native-resolution crops are embedded for {len(data['crops'])} of {len(det)} detections "
                  "(large vehicles first, then by score)." if len(det) > MAX_CROPS else "")
    data["basemap"] = None
    if basemap and result.scene.crs is not None:
        data["lonlat_to_px"] = basemap_affine(result.scene)
        data["basemap_tiles"], data["basemap_zoom"] = _tiles(result.scene)
        data["basemap"] = basemap
    summary = result.summary
    counts = result.counts
    corrected = summary.counts_corrected
    hist = summary.length_histogram or {"bin_edges_m": [0, 1], "counts": [0]}
    per_zone = counts[(counts["zone"] != "ALL")]
    dates = [d for d in dict.fromkeys(per_zone["date"].fillna("").astype(str))] if "date" in per_zone else [""]
    if len(dates) > 1:  # one bar per date and zone: counts of different dates are never added up
        per_zone = per_zone.assign(zone=per_zone["date"].fillna("").astype(str) + " " + per_zone["zone"].astype(str))
    zone_charts = "".join(
        bar_chart([str(z) for z in part["zone"]], part["count"].tolist(),
                  f"{cls} per zone" + (" and date" if len(dates) > 1 else ""), colour=colour,
                  chart_id=f"zone-chart-{cls}")
        for cls, colour in (("large_vehicle", "#e45756"), ("small_vehicle", "#4c78a8"))
        for part in [per_zone[per_zone["class"] == cls]] if len(part))
    queues = result.queues.drop(columns="geometry") if result.queues is not None else pd.DataFrame()
    legend = "".join(f'<span style="background:{c}"></span>{escape(k)}' for k, c in zip(data["classes"], data["colours"]))
    partial = counts[counts["coverage"] == "partial"] if "coverage" in counts else counts[:0]
    coverage_html = ("<p class=\"note\" id=\"coverage-warning\">Partly imaged (less than "
                     f"{CoverageParams().min_share:.0%} of the zone has valid "
                     "pixels; do not compare these counts with fully imaged dates): "
                     + escape(", ".join(sorted({f"{z} on {d or 'the undated scenes'} ({float(s):.0%})"
                                               for d, z, s in partial[["date", "zone", "observed_share"]].itertuples(index=False)})))
                     + "</p>") if len(partial) else ""
    by_type = result.tables.get("counts_by_type.csv")
    tnote = (summary.trailer_types or {}).get("note", "")
    type_html = (f'<h3>Large vehicles by trailer type</h3><p class="note">{escape(tnote)}. Estimates and 95% '
                 'intervals correct for the classifier\'s confusions between types measured on real crops; '
                 'they do not correct missed or false detections.</p>' + table(by_type, "types-table")
                 if by_type is not None and len(by_type) else "")
    claims = summary.claims or []
    claim_html = (table(pd.DataFrame(claims), "claims-table", "Claims tested") + _claim_rates(claims)) if claims else ""
    size_html = _size_section(result.tables.get("counts_by_size.csv"), summary.parameters.get("size_thresholds_m"))
    # "corrected" only where an estimate was made (summary.counts_corrected): a calibration can give none
    raw = sorted((summary.calibration or {}).get("no_interval") or {})
    note = ("Counts with 95% intervals are corrected by the calibration"
            + (f"; {', '.join(raw)} counts are raw: it gives them no interval." if raw else ".") if corrected else
            "Counts are raw detector counts, uncorrected for missed or false detections"
            + (": the calibration gives no interval." if summary.calibration else "."))
    js = files("geotally.report").joinpath("map.js").read_text()
    payload_json = script_json(data)
    title = f"geotally report: {summary.scenes[0].name}" + (f" and {len(summary.scenes) - 1} more scenes"
                                                             if len(summary.scenes) > 1 else "")
    layer_boxes = "".join(
        f'<label><input type="checkbox" data-layer="{k}" id="layer-{k}"> {label}</label>'
        for k, label in (("quicklook", "image"), ("zones", "zones"), ("border", "border"),
                         ("detections", "vehicles"), ("queues", "queues"), ("heat", "density heatmap"))
        + ((("roads", "roads"),) if data["roads"] else ()) + ((("route", "route"),) if data["route"] else ())
        + ((("basemap", "basemap"),) if data["basemap"] else ()))
    roads_html = _roads_section(result)
    series_html = _series_section(result) if len(dates) > 1 else ""
    class_boxes = "".join(f'<label><input type="checkbox" data-class="{i}" checked> {escape(c)}</label>'
                          for i, c in enumerate(data["classes"]))
    typed = [t for t in data["type_names"] if t in set(det["trailer_type"])] if "trailer_type" in det else []
    type_boxes = ("".join(f'<label><input type="checkbox" data-type="{data["type_names"].index(t)}" checked> '
                          f'<span class="swatch" style="background:{data["type_colours"][data["type_names"].index(t)]}">'
                          f'</span>{escape(t)}</label>' for t in typed)
                  + '<label><input type="checkbox" id="colour-by-type"> colour trucks by trailer type</label>') if typed else ""
    score_filter = ('<label>score ≥ <input type="range" id="score-min" min="0" max="1" step="0.05" value="0">'
                    '<span id="score-min-value">0.00</span></label>')
    date_select = ('<label>date <select id="date-select"><option value="">all dates</option>'
                   + "".join(f'<option value="{escape(d)}">{escape(d)}</option>' for d in data["dates"] if d)
                   + "</select></label>") if len([d for d in data["dates"] if d]) > 1 else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: {basemap_origin(basemap) if data['basemap'] else ''}; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>{STYLE}</style></head><body>
<header><h1>{escape(title)}</h1><div>{len(result.detections)} detections · {escape(note)}</div></header>
<main>
<section id="map-section"><div id="controls">{layer_boxes}{date_select}<button id="reset">fit</button></div>
<div id="filters">{class_boxes}{score_filter}<span id="shown-count"></span></div>
<div id="type-filters">{type_boxes}</div><div id="controls2">
<span class="legend">{legend}<span style="background:#00e5ff"></span>queues<span style="background:#ff00ff"></span>border<span style="background:#ffff00"></span>zones</span></div>
<div id="mapwrap"><canvas id="map"></canvas><div id="tip"></div></div>
<div id="readout">click the map for coordinates (WGS84)</div>
<div id="selected-box"><img id="selected-crop" alt=""><div id="selected"></div></div><p class="note">{escape(crops_note)}</p></section>
<section><h2>Counts per zone and class</h2><p class="note">{escape(note)}</p>{coverage_html}{table(counts, "counts-table")}
{size_html}{claim_html}{type_html}</section>
<section><h2>Charts</h2>
{bar_chart([f"{e:g}" for e in hist["bin_edges_m"][:-1]], hist["counts"], "Vehicle lengths (m)", chart_id="length-histogram")}
{zone_charts}
<p>The density heatmap is a map layer (tick "density heatmap").</p></section>
{series_html}
<section><h2>Queues</h2>{table(queues, "queues-table") if len(queues) else "<p>No queues.</p>"}</section>
{roads_html}
<section><h2>Provenance</h2>{key_values(_provenance(summary), "provenance-table")}</section>
</main>
<script type="application/json" id="geotally-data">{payload_json}</script>
<script>{js}</script>
</body></html>
"""


def _series_section(result) -> str:
    """Counts over the run's dates per zone, one chart per vehicle class (estimates and 95% intervals
    when calibrated), and the queues per date."""
    counts = result.counts
    dates = [d for d in dict.fromkeys(counts["date"].fillna("").astype(str)) if d]
    calibrated = "estimate" in counts.columns
    charts = []
    for cls in ("large_vehicle", "small_vehicle"):
        series = {}
        for zone in [z for z in dict.fromkeys(counts["zone"]) if z != OUTSIDE]:
            part = counts[(counts["zone"] == zone) & (counts["class"] == cls)].set_index("date").reindex(dates)
            if calibrated:
                series[zone] = (part["estimate"].astype(float).tolist(), part["lo95"].astype(float).tolist(),
                                part["hi95"].astype(float).tolist())
            else:
                series[zone] = (part["count"].fillna(0).astype(float).tolist(), None, None)
        what = "estimate with 95% interval" if calibrated else "raw count"
        charts.append(line_chart(dates, series, f"{cls} per zone and date ({what})", chart_id=f"series-{cls}"))
    q = result.queues
    rows = []
    for d in dates:
        part = q[q["date"].fillna("").astype(str) == d] if q is not None and len(q) else q
        n = 0 if part is None else len(part)
        groups = len(np.unique(lane_groups(part))) if n else 0
        rows.append((d, n, groups, int(part["vehicles"].sum()) if n else 0,
                     round(float(part["length_km"].sum()), 3) if n else 0.0))
    # one row of queues.gpkg per lane line; the lanes of one multi-lane queue share its lane_group
    per_date = pd.DataFrame(rows, columns=["date", "queue_lines", "queues_lanes_counted_once", "vehicles_in_queues",
                                           "total_lane_length_km"])
    still = result.tables.get("stationary.csv")
    still_html = ('<h3>Standing where a vehicle stood on the date before</h3><p class="note">A vehicle is '
                  'stationary when a vehicle of its class, axis and length stood at its spot on the date before, '
                  'after the shift measured between the dates (summary.json, stationary). Parked fleets stand '
                  'still; moving traffic does not; a queue stuck for the whole interval stands still too.</p>'
                  + table(still, "stationary-table")) if still is not None and len(still) else ""
    return (f'<section><h2>Over time</h2>{"".join(charts)}'
            f'{table(per_date, "queues-per-date", "Queues per date")}{still_html}</section>')


def _roads_section(result) -> str:
    """The busiest road segments (vehicles per km) and the route's stretches, when the run had them."""
    parts = []
    roads = result.tables.get("counts_by_road.csv")
    if roads is not None and len(roads):
        seg = roads[roads["level"] == "segment"].sort_values("per_km", ascending=False, na_position="last")
        key = "".join(f'<span style="background:{c}"></span>{"none" if b == 0 else f"≤ {b:g}" if b != float("inf") else "more"}'
                      for b, c in ROAD_CLASSES)
        parts.append(f'<section><h2>Busiest road segments</h2><p class="note">Vehicles on each segment per km '
                     f'(map colours: <span class="legend">{key}</span> per km); all roads and levels in '
                     f'counts_by_road.csv.</p>{table(seg.head(10), "roads-table")}</section>')
    route = result.tables.get("counts_by_route.csv")
    if route is not None and len(route):
        parts.append(f'<section><h2>Route</h2><p class="note">Vehicles along each stretch; a stretch no scene '
                     f'imaged has no count (observed_share 0).</p>{table(route, "route-table")}</section>')
    return "\n".join(parts)


_SCRIPT_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                                "\u2029": "\\u2029"})


def script_json(data) -> str:
    """JSON safe inside a <script> element: no <, > or & (so no </script>, <!-- or entity), as \\u escapes."""
    from geotally.store.outputs import json_ready

    return json.dumps(json_ready(data), separators=(",", ":"), allow_nan=False, default=str).translate(_SCRIPT_UNSAFE)


_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_PLACEHOLDERS = ("{z}", "{x}", "{y}")


def basemap_origin(url: str) -> str:
    """The ``https?://host[:port]`` origin of a basemap tile URL, for the report's Content-Security-Policy.

    Anything else (spaces, quotes, semicolons, user info, other schemes) is refused, because the
    origin is written into the policy and must not be able to change it.
    """
    from urllib.parse import urlsplit

    probe = url
    for ph in _PLACEHOLDERS:
        probe = probe.replace(ph, "0")
    bad = f"--basemap must be a tile URL like https://tile.example.org/{{z}}/{{x}}/{{y}}.png, got {url!r}"
    if any(ch.isspace() or ch in "'\";,<>\\`" for ch in url) or not all(p in url for p in _PLACEHOLDERS):
        raise GeotallyError(bad)
    try:
        parts = urlsplit(probe)
        port = parts.port
    except ValueError:
        raise GeotallyError(bad) from None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or parts.username or parts.password or "@" in parts.netloc \
            or not _HOST.match(host):
        raise GeotallyError(bad)
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def write_report(result, path: str | Path, basemap: str | None = None) -> Path:
    """Write report.html for a count result."""
    path = Path(path)
    path.write_text(render(result, basemap=basemap), encoding="utf-8")
    return path


def _size_section(by_size: pd.DataFrame | None, thresholds: list | None) -> str:
    """Vehicles per date, zone and size class (counts_by_size.csv), with the length thresholds used."""
    if by_size is None or not len(by_size):
        return ""
    a, b, c = thresholds or (6, 10, 14)
    return (f'<h3>Vehicles per size class</h3><p>By detected length: car under {a:g} m, van or light truck {a:g}-{b:g} '
            f'm, rigid truck {b:g}-{c:g} m, articulated {c:g} m and longer; a claim of class "heavy" counts rigid '
            f'trucks and articulated vehicles ({b:g} m and longer). Raw counts.</p>' + table(by_size, "sizes-table"))


def _claim_rates(claims: list[dict]) -> str:
    """Which error rates judged the claims: the scene calibration, or the model's own validated rates."""
    used = list(dict.fromkeys(str(c.get("rates_source") or c.get("rates") or "") for c in claims))
    used = [u for u in used if u and u != "none"]
    what = "; ".join(used) if used else "none (claims untested)"
    return f'<p class="note" id="claims-rates">Claims judged with: {escape(what)}</p>'
