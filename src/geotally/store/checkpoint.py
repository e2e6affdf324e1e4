"""Per-tile checkpoints: each finished tile's detections are committed to SQLite, so an
interrupted run resumes where it stopped and gives exactly the detections of an
uninterrupted one. A run manifest (scene, model and detection-parameter checksums)
guards against resuming with anything changed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from geotally.detect.run import Detections
from geotally.errors import GeotallyError

CHECKPOINT = ".geotally-checkpoint"


def checkpoint_path(out: str | Path, scene_path: str) -> Path:
    """One checkpoint per scene (by file name) in the results folder."""
    return Path(out) / f"{CHECKPOINT}-{Path(scene_path).name}.sqlite"


def remove(path: str | Path) -> None:
    """Delete a checkpoint with its SQLite write-ahead log and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class TileStore:
    """An SQLite file of finished tiles beside the results."""

    def __init__(self, path: str | Path, manifest: dict[str, str]):
        self.path = Path(path)
        self._made_dir = not self.path.parent.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS manifest (key TEXT PRIMARY KEY, value TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS tiles (tile INTEGER PRIMARY KEY, n INTEGER, corners BLOB, "
                        "score BLOB, class_id BLOB)")
        self._check(manifest)

    def _check(self, manifest: dict[str, str]) -> None:
        stored = dict(self.db.execute("SELECT key, value FROM manifest").fetchall())
        if not stored:
            with self.db:
                self.db.executemany("INSERT INTO manifest VALUES (?, ?)", sorted(manifest.items()))
            return
        changed = [k for k in manifest if stored.get(k) != manifest[k]]
        if changed:
            self.db.close()
            what = ", ".join(changed)
            raise GeotallyError(f"cannot resume the run in {self.path.parent}: the {what} changed since it started; "
                                "use another --out, or --fresh to discard the finished tiles")

    def done(self) -> set[int]:
        return {t for (t,) in self.db.execute("SELECT tile FROM tiles")}

    def put(self, tile: int, d: Detections) -> None:
        """Commit one tile's detections in one transaction."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?, ?)",
                            (int(tile), len(d), d.corners.astype("<f8").tobytes(), d.score.astype("<f4").tobytes(),
                             d.class_id.astype("<i8").tobytes()))

    def load(self) -> Detections:
        parts = []
        for tile, n, c, s, k in self.db.execute("SELECT tile, n, corners, score, class_id FROM tiles ORDER BY tile"):
            parts.append(Detections(np.frombuffer(c, "<f8").reshape(n, 4, 2).copy(), np.frombuffer(s, "<f4").copy(),
                                    np.frombuffer(k, "<i8").copy(), np.full(n, tile, np.int64)))
        return Detections.concat(parts)

    def close(self, discard_if_empty: bool = False) -> None:
        """Close; with ``discard_if_empty``, a checkpoint of no finished tile is removed, and the results
        folder too when this store made it, so a run that failed before any tile leaves nothing behind."""
        empty = discard_if_empty and not self.db.execute("SELECT 1 FROM tiles LIMIT 1").fetchone()
        self.db.close()
        if empty:
            remove(self.path)
            if self._made_dir and not any(self.path.parent.iterdir()):
                self.path.parent.rmdir()


def manifest(scene_sha256: str, model_sha256: str, params: dict) -> dict[str, str]:
    """What must not change for a run to resume."""
    return {"scene checksum": scene_sha256, "model checksum": model_sha256,
            "detection parameters": json.dumps(params, sort_keys=True)}
