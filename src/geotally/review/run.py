"""Starting a review: open the results, draw the sample if asked, then serve until interrupted."""

from __future__ import annotations

import threading
from dataclasses import replace
import webbrowser
from pathlib import Path
from typing import Callable

from geotally.config.defaults import REVIEW_PORT
from geotally.config.limits import PORT, check_number
from geotally.config.params import SampleParams
from geotally.imagery.checksum import scene_sha256
from geotally.review.server import ReviewApp, make_server
from geotally.review.session import open_session, sample_plan
from geotally.store.review import read_review, start_review


def prepare(results: str | Path, sample: SampleParams | None = None, reviewer: str | None = None,
            say: Callable[[str], None] = lambda s: None, scene: str | None = None,
            port: int = REVIEW_PORT) -> ReviewApp:
    """The app for ``results``: review.gpkg made (with the sample) if it is not there yet. The map
    shows the first scene, or ``scene`` (a file name) of a multi-scene result. A sample of no
    detections is no sample. ``port`` is checked here, before anything is written."""
    check_number("--port", port, *PORT, integer=True)
    if sample is not None:
        sample.validate()
        sample = sample if sample.detections else None
    session = open_session(results)
    if scene is not None:
        chosen = session.scene_of(scene)
        session = replace(session, scenes=[chosen] + [s for s in session.scenes if s is not chosen])
    elif len(session.scenes) > 1:
        say(f"{len(session.scenes)} scenes in these results; reviewing {session.scenes[0].label} "
            f"(--scene NAME for another: {', '.join(s.label for s in session.scenes[1:])})")
    existing = read_review(session.review_path, session.crs)
    if sample is not None and existing.sample is not None:
        say(f"{session.review_path} already holds a sample of {len(existing.sample)} units; reviewing that one "
            "(move the file away to draw another)")
        start_review(session.review_path, session.crs)
    elif sample is not None:
        units, strata = sample_plan(session, sample)
        start_review(session.review_path, session.crs, units, strata)
        n_det = int((units["unit"] == "detection").sum())
        say(f"sample: {n_det} detections and {len(units) - n_det} windows of {sample.window_m:g} m, seed {sample.seed}")
    else:
        start_review(session.review_path, session.crs)
    app = ReviewApp(session, reviewer)
    app.layers_bytes()  # built before the page asks, so the first tiles are requested at once
    return app


def check_scenes(app: ReviewApp, say: Callable[[str], None]) -> threading.Thread:
    """Hash the scenes in the background and say if one is not the file that was counted."""
    def run() -> None:
        for rs in app.session.scenes:
            if rs.sha256 and scene_sha256(rs.scene.path, rs.scene.sidecars) != rs.sha256:
                say(f"warning: {rs.scene.path} has changed since it was counted (sha256 differs); "
                    "the detections may not match the imagery")
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def serve(app: ReviewApp, port: int, open_browser: bool, say: Callable[[str], None]) -> None:
    """Serve on 127.0.0.1:``port`` until Ctrl+C."""
    check_number("--port", port, *PORT, integer=True)
    server = make_server(app, port)
    url = f"http://127.0.0.1:{app.port}/"
    say(f"review app at {url} (decisions saved to {app.session.review_path}); Ctrl+C to stop")
    check_scenes(app, say)
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
