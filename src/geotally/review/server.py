"""The review app's local web server: tiles, the session's layers, and decisions saved at once.

Safety, because a browser on the same machine visits other sites too:
- it binds to 127.0.0.1 only, never to another address;
- every request must name this server in its Host header (``127.0.0.1:PORT`` or
  ``localhost:PORT``), which stops DNS-rebinding pages; a request that carries an Origin must come
  from this server's own origin, and a decision (POST) must carry both that Origin and the
  session's random token, which only the page served here knows;
- it serves a fixed set of routes: its own static files and Leaflet's, by plain names checked to
  stay inside their folders, and the scene's tiles by numbers; any path with ``..``, a backslash
  or an absolute path in it is refused.
"""

from __future__ import annotations

import getpass
import json
import mimetypes
import re
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import shapely

from geotally.errors import GeotallyError
from geotally.geo.rings import ring_lists
from geotally.models.classes import VEHICLE_CLASSES
from geotally.models.trailers import TRAILER_TYPES
from geotally.review.session import ReviewSession, from_pixels, to_pixels
from geotally.review.tiles import TileSource
from geotally.store.review import Decision, append, current_labels, read_review

STATIC = Path(__file__).parent / "static"
HOST = "127.0.0.1"
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MAX_BODY = 1 << 16


def leaflet_dir() -> Path:
    """Leaflet's files as the XStatic-Leaflet package installs them."""
    try:
        import xstatic.pkg.leaflet as leaflet
    except ImportError:
        raise GeotallyError("the review app needs Leaflet: pip install XStatic-Leaflet (it comes with geotally)") from None
    return Path(leaflet.BASE_DIR)


def _geom_rings(geoms: np.ndarray) -> list:
    """One list of rings per geometry (a MultiPolygon keeps all its parts)."""
    geoms = np.asarray(geoms, dtype=object)
    n = shapely.get_num_geometries(geoms)
    flat = ring_lists(geoms)
    out, k = [], 0
    for c in n:
        out.append(flat[k:k + int(c)])
        k += int(c)
    return out


class ReviewApp:
    """The state behind the server: the session, its tile sources, the token and the reviewer."""

    def __init__(self, session: ReviewSession, reviewer: str | None = None) -> None:
        self.session = session
        self.sources = {s.label: TileSource(s.scene) for s in session.scenes}
        self.token = secrets.token_urlsafe(24)
        self.reviewer = reviewer or getpass.getuser()
        self.port = 0
        self._ids = set(session.detections["det_id"].astype(str))
        self._payload: dict | None = None

    # --- what the page reads -------------------------------------------------------------
    def payload(self) -> dict:
        if self._payload is None:
            s = self.session
            scenes = []
            for rs in s.scenes:
                sc, name = rs.scene, rs.label
                det = s.detections[s.detections["scene"] == name]
                px = to_pixels(sc, det.geometry.to_numpy(), s.crs)
                layers = {}
                if s.zones is not None:
                    layers["zones"] = [{"name": n, "rings": r} for n, r in
                                       zip(s.zones["name"], _geom_rings(to_pixels(sc, s.zones.geometry.to_numpy(), s.zones.crs)))]
                for key, gdf in s.layers.items():
                    layers[key] = [{"rings": r} for r in _geom_rings(to_pixels(sc, gdf.geometry.to_numpy(), gdf.crs))]
                scenes.append({
                    "name": name, "width": sc.width, "height": sc.height, "gsd_m": sc.gsd_m,
                    **self.sources[name].pyramid.to_dict(),
                    "detections": [{"id": i, "cls": c, "score": float(sco), "zone": z, "ttype": t, "ring": r[0]}
                                   for i, c, sco, z, t, r in
                                   zip(det["det_id"], det["class"], det["score"], det["zone"].astype(str),
                                       det["trailer_type"].fillna("").astype(str) if "trailer_type" in det
                                       else [""] * len(det), _geom_rings(px))],
                    "layers": layers,
                })
            review = read_review(s.review_path, s.crs)
            sample = []
            if review.sample is not None and len(review.sample):
                smp = review.sample.sort_values("order")
                sc = s.scene_of(str(smp["scene"].iloc[0])).scene
                rings = _geom_rings(to_pixels(sc, smp.geometry.to_numpy(), review.sample.crs))
                sample = [{"id": u, "unit": k, "stratum": st, "scene": scn, "ring": r[0]}
                          for u, k, st, scn, r in zip(smp["unit_id"], smp["unit"], smp["stratum"], smp["scene"], rings)]
            self._payload = {"scenes": scenes, "classes": list(VEHICLE_CLASSES), "sample": sample,
                             "trailer_types": list(TRAILER_TYPES),
                             "reviewer": self.reviewer}
        return dict(self._payload, decisions=self.decisions())

    def first_view(self) -> bytes:
        """What the page needs to show the first tiles: the scenes without their layers, the
        classes, the sample, the decisions, and where the first item is (small, so tiles start at once)."""
        p = self.payload()
        scenes = [{k: v for k, v in sc.items() if k not in ("detections", "layers")} for sc in p["scenes"]]
        first = p["sample"][0]["ring"] if p["sample"] else \
            (p["scenes"][0]["detections"][0]["ring"] if p["scenes"][0]["detections"] else None)
        return json.dumps(dict(p, scenes=scenes, first=first)).encode()

    def layers_bytes(self) -> bytes:
        """Each scene's detections and map layers, serialised once."""
        if getattr(self, "_layers", None) is None:
            p = self.payload()
            self._layers = json.dumps([{"detections": sc["detections"], "layers": sc["layers"]}
                                       for sc in p["scenes"]]).encode()
        return self._layers

    def decisions(self) -> dict:
        """The decisions in effect: per detection, and the added vehicles with their rings."""
        review = read_review(self.session.review_path, self.session.crs)
        live = current_labels(review.decisions)
        per_det, added = {}, []
        for _, row in live.iterrows():
            item = {"decision_id": int(row["decision_id"]), "action": row["action"], "cls": row["label_class"],
                    "trailer_type": row["trailer_type"],
                    "sample_unit": row["sample_unit"]}
            if row["action"] == "add":
                sc = self.session.scene_of(row["scene"]).scene
                ring = ring_lists(to_pixels(sc, np.array([row.geometry]), review.decisions.crs))
                added.append(dict(item, id=row["det_id"], scene=row["scene"], ring=ring[0] if ring else []))
            else:
                per_det[row["det_id"]] = item
        return {"per_detection": per_det, "added": added, "total": int(len(review.decisions))}

    # --- what the page sends -------------------------------------------------------------
    def decide(self, body: dict) -> dict:
        action = str(body.get("action", ""))
        det_id = str(body.get("det_id", "") or "")
        cls = str(body.get("label_class", "") or "")
        scene = str(body.get("scene", "") or "")
        geom = None
        det = self.session.detections
        if action == "searched":
            if not det_id.startswith("window-"):
                raise GeotallyError("only a sampled window can be marked as searched")
        elif action in ("accept", "reject", "relabel"):
            if det_id not in self._ids:
                raise GeotallyError(f"no detection {det_id!r} in these results")
            row = det[det["det_id"] == det_id].iloc[0]
            geom, scene = row.geometry, row["scene"]
            if action == "accept":
                cls = row["class"]
            elif action == "reject":
                cls = ""
        if action in ("relabel", "add") and cls not in VEHICLE_CLASSES:
            raise GeotallyError(f"class must be one of {', '.join(VEHICLE_CLASSES)}, not {cls!r}")
        if action == "add":
            ring = np.asarray(body.get("ring", []), float)
            if ring.ndim != 2 or ring.shape[1] != 2 or not 4 <= len(ring) <= 5 or not np.isfinite(ring).all():
                raise GeotallyError("an added vehicle needs its box as 4 corner points [col, row]")
            sc = self.session.scene_of(scene).scene
            poly = shapely.Polygon(ring)
            if not poly.is_valid or poly.area <= 0:
                raise GeotallyError("the drawn box is not a valid polygon")
            check_added_box(poly, cls, sc)
            geom = from_pixels(sc, np.array([poly]), self.session.crs)[0]
            det_id = ""
        trailer = str(body.get("trailer_type", "") or "")
        if trailer and trailer not in TRAILER_TYPES:
            raise GeotallyError(f"trailer type must be one of {', '.join(TRAILER_TYPES)}, not {trailer!r}")
        unit = str(body.get("sample_unit", "") or "")
        decision_id, _ = append(self.session.review_path,
                                Decision(action, det_id, cls, trailer, unit, self.reviewer, scene, geom),
                                self.session.crs)
        return {"decision_id": decision_id, "decisions": self.decisions()}


# What an added vehicle may measure, metres: (shortest side min, max), (longest side min, max) per class.
# Generous on purpose (a tanker with its tractor is ~25 m): they catch a slipped click, not a judgement.
PLAUSIBLE_M = {"small_vehicle": ((0.8, 4.0), (1.5, 12.0)), "large_vehicle": ((1.5, 6.0), (3.0, 40.0))}


def check_added_box(poly: shapely.Polygon, cls: str, sc) -> None:
    """Refuse an added box whose centre lies outside the scene or whose size no vehicle of ``cls`` has:
    the page's checks are the user's help, this is the file's guard."""
    cx, cy = shapely.get_coordinates(poly.centroid)[0]
    if not (0 <= cx <= sc.width and 0 <= cy <= sc.height):
        raise GeotallyError(f"the drawn box lies outside the scene ({sc.width} x {sc.height} pixels)")
    rect = np.asarray(poly.minimum_rotated_rectangle.exterior.coords)[:4]
    sides = np.sort(np.hypot(*np.diff(np.vstack([rect, rect[:1]]), axis=0).T)[:2]) * sc.gsd_m
    (w_lo, w_hi), (l_lo, l_hi) = PLAUSIBLE_M[cls]
    if not (w_lo <= sides[0] <= w_hi and l_lo <= sides[1] <= l_hi):
        raise GeotallyError(f"a {cls} of {sides[1]:.1f} x {sides[0]:.1f} m is not plausible (length {l_lo:g}-{l_hi:g} m, "
                            f"width {w_lo:g}-{w_hi:g} m); draw the box around the vehicle")


class Handler(BaseHTTPRequestHandler):
    """Routes of the review app (see the module docstring for what is refused)."""

    server_version = "geotally-review"
    app: ReviewApp  # set on the subclass made per server

    def log_message(self, format, *args) -> None:  # noqa: A002 (quiet: the CLI prints what matters)
        return

    def _origins(self) -> set[str]:
        return {f"http://{HOST}:{self.app.port}", f"http://localhost:{self.app.port}"}

    def _refuse(self, code: HTTPStatus, why: str) -> None:
        self._send(code, json.dumps({"error": why}).encode(), "application/json")

    def _send(self, code: HTTPStatus, body: bytes, ctype: str, cache: bool = False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'")
        self.end_headers()
        if self.command != "HEAD":
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the map no longer wants this tile
                pass

    def _checked_path(self) -> str | None:
        """The request's path if Host, Origin and the path itself pass; None after refusing."""
        host = self.headers.get("Host", "")
        if host not in {f"{HOST}:{self.app.port}", f"localhost:{self.app.port}"}:
            self._refuse(HTTPStatus.FORBIDDEN, "foreign Host header")
            return None
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self._origins():
            self._refuse(HTTPStatus.FORBIDDEN, "foreign Origin")
            return None
        raw = urlsplit(self.path).path
        path = unquote(raw)
        if "\\" in path or "\x00" in path or path.startswith("//") or any(p == ".." for p in path.split("/")):
            self._refuse(HTTPStatus.FORBIDDEN, "path outside the app")
            return None
        return path

    def _file(self, base: Path, rel: str) -> None:
        parts = rel.split("/")
        if not rel or len(parts) > 2 or not all(SAFE_NAME.match(p) for p in parts):
            return self._refuse(HTTPStatus.FORBIDDEN, "not a file of the app")
        target = (base / rel).resolve()
        if not target.is_relative_to(base.resolve()) or not target.is_file():
            return self._refuse(HTTPStatus.NOT_FOUND, "no such file")
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        self._send(HTTPStatus.OK, target.read_bytes(), ctype, cache=True)

    def do_GET(self) -> None:  # noqa: N802
        path = self._checked_path()
        if path is None:
            return
        try:
            if path in ("/", "/index.html"):
                page = (STATIC / "review.html").read_text().replace("__TOKEN__", self.app.token)
                return self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
            if path == "/favicon.ico":
                return self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            if path == "/api/session":
                return self._send(HTTPStatus.OK, self.app.first_view(), "application/json")
            if path == "/api/layers":
                return self._send(HTTPStatus.OK, self.app.layers_bytes(), "application/json")
            if path == "/api/decisions":
                return self._send(HTTPStatus.OK, json.dumps(self.app.decisions()).encode(), "application/json")
            if path.startswith("/static/"):
                return self._file(STATIC, path[len("/static/"):])
            if path.startswith("/leaflet/"):
                return self._file(leaflet_dir(), path[len("/leaflet/"):])
            m = re.fullmatch(r"/tiles/([^/]+)/(\d{1,2})/(\d{1,7})/(\d{1,7})\.jpg", path)
            if m and m.group(1) in self.app.sources:
                tile = self.app.sources[m.group(1)].tile(int(m.group(2)), int(m.group(3)), int(m.group(4)))
                if tile is None:
                    return self._refuse(HTTPStatus.NOT_FOUND, "no such tile")
                return self._send(HTTPStatus.OK, tile, "image/jpeg", cache=True)
            return self._refuse(HTTPStatus.NOT_FOUND, "no such page")
        except GeotallyError as exc:
            return self._refuse(HTTPStatus.BAD_REQUEST, str(exc))

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        path = self._checked_path()
        if path is None:
            return
        if self.headers.get("Origin") not in self._origins():
            return self._refuse(HTTPStatus.FORBIDDEN, "a decision must come from the review page (Origin)")
        if not secrets.compare_digest(self.headers.get("X-Review-Token", ""), self.app.token):
            return self._refuse(HTTPStatus.FORBIDDEN, "a decision must carry the page's token")
        if path != "/api/decision":
            return self._refuse(HTTPStatus.NOT_FOUND, "no such action")
        try:
            n = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            n = -1
        if not 0 < n <= MAX_BODY:
            return self._refuse(HTTPStatus.BAD_REQUEST, "a decision is a small JSON body")
        try:
            body = json.loads(self.rfile.read(n))
            if not isinstance(body, dict):
                raise ValueError("not an object")
            result = self.app.decide(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._refuse(HTTPStatus.BAD_REQUEST, f"not a decision: {exc}")
        except GeotallyError as exc:
            return self._refuse(HTTPStatus.BAD_REQUEST, str(exc))
        self._send(HTTPStatus.OK, json.dumps(result).encode(), "application/json")


class QuietServer(ThreadingHTTPServer):
    """A threading server that does not print a traceback when a browser drops a connection."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        return


def make_server(app: ReviewApp, port: int = 0) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1:``port`` (0: any free port), not yet serving."""
    handler = type("BoundHandler", (Handler,), {"app": app})
    try:
        server = QuietServer((HOST, port), handler)
    except OSError as exc:
        raise GeotallyError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc}); give another --port") from None
    app.port = server.server_address[1]
    return server


def serve_in_thread(app: ReviewApp, port: int = 0) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """Start serving in a background thread (tests, benchmarks)."""
    server = make_server(app, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread
