"""Per-tile checkpoints: each finished tile's detections are committed to SQLite, so an
interrupted run resumes where it stopped and gives exactly the detections of an
uninterrupted one. A run manifest (scene, model and detection-parameter checksums)
guards against resuming with anything changed."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
from pathlib import Path

import numpy as np

from geotally.detect.run import Detections
from geotally.errors import GeotallyError, first_line, os_error
from geotally.store.outputs import CHECKPOINT_PREFIX as CHECKPOINT, SET_ASIDE, alive

REMOTE_ASSET = "remote asset"  # manifest key of a scene read from a server
RGB8 = b"RGB8"  # a stored picture's first bytes: then its height and width (uint32) and its pixels


def checkpoint_path(out: str | Path, scene_path: str) -> Path:
    """One checkpoint per scene file in the results folder, keyed by its name and full path, so that
    a/scene.tif and b/scene.tif (or STAC items' visual.tif) never share one."""
    full = str(Path(scene_path).resolve())
    return Path(out) / f"{CHECKPOINT}-{Path(scene_path).name}-{hashlib.sha256(full.encode()).hexdigest()[:12]}.sqlite"


def _parts(path: str | Path, suffix: str = "") -> list[Path]:
    """A checkpoint's files: the database, its SQLite write-ahead log and shared-memory file."""
    return [Path(f"{path}{part}{suffix}") for part in ("", "-wal", "-shm")]


def remove(path: str | Path) -> None:
    """Delete a checkpoint with its SQLite write-ahead log and shared-memory files."""
    for part in _parts(path):
        part.unlink(missing_ok=True)


class SetAside:
    """The checkpoints a --fresh run replaces, kept aside until its results are written: a run that
    fails or is interrupted puts them back (and removes its own), so the earlier results, which
    still stand, can still be recounted; the swap of the results folder retires them (they are not
    carried into the new one). A run killed outright cannot put them back: the next run in the folder
    does (:meth:`recover`). Each is named for the process that set it aside."""

    def __init__(self) -> None:
        self.paths: list[Path] = []
        self.suffix = f"{SET_ASIDE}-{os.getpid()}"

    def move(self, paths: list[Path]) -> None:
        for path in paths:
            if Path(path).exists():
                _rename(_parts(path), _parts(path, self.suffix))
                self.paths.append(Path(path))

    def restore(self) -> None:
        for path in self.paths:
            _put_back(path, self.suffix)

    def drop(self) -> None:
        for path in self.paths:
            for kept in _parts(path, self.suffix):
                kept.unlink(missing_ok=True)

    @staticmethod
    def recover(out: str | Path) -> list[Path]:
        """Put back the checkpoints that --fresh runs killed before their results were written set
        aside in ``out`` (their own half-done ones are removed); returns the checkpoints put back."""
        back = []
        for kept in sorted(Path(out).glob(f"{CHECKPOINT}*.sqlite{SET_ASIDE}-*")):
            base, _, pid = kept.name.rpartition(f"{SET_ASIDE}-")
            if pid.isdigit() and int(pid) != os.getpid() and not alive(int(pid)):
                _put_back(kept.with_name(base), f"{SET_ASIDE}-{pid}")
                back.append(kept.with_name(base))
        return back


def _put_back(path: Path, suffix: str) -> None:
    """The checkpoint set aside under ``suffix`` in place of the one at ``path``."""
    remove(path)
    _rename(_parts(path, suffix), _parts(path))


def _rename(sources: list[Path], targets: list[Path]) -> None:
    for src, dst in zip(sources, targets):
        if src.exists():
            os.replace(src, dst)


class CheckpointUnusable(GeotallyError):
    """A checkpoint that cannot serve this run: damaged, or made for another scene, model or parameters
    (a count is told to start over with --fresh; a recount, which cannot, is told to count again)."""

    def __init__(self, what: str, fix: str):
        super().__init__(f"{what}; {fix}")
        self.what = what


class TileStore:
    """An SQLite file of finished tiles beside the results. Made on one thread and used on another
    (a run opens the next scene's while the model runs), never on two at once."""

    def __init__(self, path: str | Path, manifest: dict[str, str]):
        self.path = Path(path)
        self._made_dir = not self.path.parent.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise GeotallyError(f"--out {self.path.parent} cannot be created ({exc.strerror or exc})") from None
        new = not self.path.exists()
        self._closed = False
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a crash of geotally loses nothing committed; a power cut may lose the
            # last tiles, which a resumed run detects again (FULL cost an fsync per tile).
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("CREATE TABLE IF NOT EXISTS manifest (key TEXT PRIMARY KEY, value TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS tiles (tile INTEGER PRIMARY KEY, n INTEGER, corners BLOB, "
                            "score BLOB, class_id BLOB)")
            self.db.execute("CREATE TABLE IF NOT EXISTS preview (id INTEGER PRIMARY KEY CHECK (id = 0), png BLOB)")
            self.db.execute("SELECT count(*) FROM tiles").fetchone()
            self._check(manifest)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            if new:  # made now and never used (a full disk, say): leave nothing behind
                self._discard()
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> GeotallyError:
        """What went wrong, in one line. Only a checkpoint that really is damaged (SQLite finds it
        corrupt or not a database, or a tile's arrays do not fit) is to be discarded with --fresh: a
        full disk or a read-only folder is fixed there, and the finished tiles are kept."""
        damaged = (getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")
                   or isinstance(exc, (ValueError, TypeError)))
        if damaged:
            return CheckpointUnusable(f"the checkpoint {self.path.name} in {self.path.parent} is damaged "
                                      f"({first_line(exc)})", "rerun with --fresh to discard it")
        return os_error(exc, self.path.parent, tiles_kept=True) or GeotallyError(
            f"the checkpoint {self.path.name} in {self.path.parent} cannot be used ({first_line(exc)}); fix that and "
            "run again; finished tiles are kept")

    def _check(self, manifest: dict[str, str]) -> None:
        stored = dict(self.db.execute("SELECT key, value FROM manifest").fetchall())
        if not stored:
            with self.db:
                self.db.executemany("INSERT INTO manifest VALUES (?, ?)", sorted(manifest.items()))
            return
        # a checkpoint from before remote assets were recorded is checked on the rest
        changed = [k for k in manifest if stored.get(k) != manifest[k] and (k in stored or k != REMOTE_ASSET)]
        if changed:
            self.db.close()
            if REMOTE_ASSET in changed:  # the scene checksum changed with it: the server's change is the cause
                old, new = stored[REMOTE_ASSET], manifest[REMOTE_ASSET]
                both = old.startswith("ETag ") and new.startswith("ETag ")
                raise CheckpointUnusable(f"cannot resume the run in {self.path.parent}: the remote asset changed on the "
                                    f"server ({f'ETag {old[5:]} -> {new[5:]}' if both else f'{old} -> {new}'})",
                                    "use another --out, or --fresh to discard the finished tiles")
            what = ", ".join(_changed_parameters(stored.get(k), manifest[k]) if k == "detection parameters" else k
                             for k in changed)
            raise CheckpointUnusable(f"cannot resume the run in {self.path.parent}: the {what} changed since it started",
                                     "use another --out, or --fresh to discard the finished tiles")

    def done(self) -> set[int]:
        return {t for (t,) in self.db.execute("SELECT tile FROM tiles")}

    def put(self, tile: int, d: Detections) -> None:
        """Commit one tile's detections in one transaction."""
        try:
            with self.db:
                self.db.execute("INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?, ?)",
                                (int(tile), len(d), d.corners.astype("<f8").tobytes(),
                                 d.score.astype("<f4").tobytes(), d.class_id.astype("<i8").tobytes()))
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def put_preview(self, image: np.ndarray) -> None:
        """Keep the report's picture of the scene, so a recount need not read the scene again: its RGB
        pixels as they are, after their height and width. A 2048 px picture takes 80 ms and 12.6 MB so,
        where PNG took 0.3 s (its encoding alone: 0.16 s even uncompressed) for 5.3 MB; a checkpoint
        holds one picture at most."""
        h, w = image.shape[:2]
        try:
            with self.db:
                self.db.execute("INSERT OR REPLACE INTO preview VALUES (0, ?)",
                                (RGB8 + struct.pack("<II", h, w) + np.ascontiguousarray(image, np.uint8).tobytes(),))
        except sqlite3.DatabaseError as exc:
            raise self._error(exc) from None

    def preview(self, shape: tuple[int, int]) -> np.ndarray | None:
        """The stored picture, if there is one of this (height, width): raw RGB pixels, or a PNG as
        checkpoints made before 2026-12-07 kept it."""
        row = self.db.execute("SELECT png FROM preview WHERE id = 0").fetchone()
        if not row:
            return None
        blob, (h, w) = row[0], shape
        if blob[:len(RGB8)] == RGB8:
            head = len(RGB8) + 8
            same = struct.unpack("<II", blob[len(RGB8):head]) == (h, w) and len(blob) == head + h * w * 3
            return np.frombuffer(blob, np.uint8, offset=head).reshape(h, w, 3).copy() if same else None
        import cv2

        img = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR)
        return img[..., ::-1].copy() if img is not None and img.shape[:2] == (h, w) else None

    def load(self) -> Detections:
        parts = []
        try:
            for tile, n, c, s, k in self.db.execute("SELECT tile, n, corners, score, class_id FROM tiles ORDER BY tile"):
                parts.append(Detections(np.frombuffer(c, "<f8").reshape(n, 4, 2).copy(),
                                        np.frombuffer(s, "<f4").reshape(n).copy(),
                                        np.frombuffer(k, "<i8").reshape(n).copy(), np.full(n, tile, np.int64)))
        except (sqlite3.DatabaseError, ValueError, TypeError) as exc:
            raise self._error(exc) from None
        return Detections.concat(parts)

    def close(self, discard_if_empty: bool = False) -> None:
        """Close; with ``discard_if_empty``, a checkpoint of no finished tile is removed, and the results
        folder too when this store made it, so a run that failed before any tile leaves nothing behind.
        Closing again does nothing."""
        if self._closed:
            return
        self._closed = True
        empty = discard_if_empty and not self.db.execute("SELECT 1 FROM tiles LIMIT 1").fetchone()
        self.db.close()
        if empty:
            self._discard()

    def _discard(self) -> None:
        """Remove the checkpoint, and the results folder when this store made it and it is empty."""
        remove(self.path)
        if self._made_dir and not any(self.path.parent.iterdir()):
            self.path.parent.rmdir()


def _changed_parameters(old: str | None, new: str) -> str:
    """'detection parameters (overlap 64 -> 128)': which parameters changed, and how."""
    try:
        a, b = json.loads(old or "{}"), json.loads(new)
    except ValueError:
        return "detection parameters"
    diff = [f"{k} {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]
    return f"detection parameters ({'; '.join(diff)})" if diff else "detection parameters"


def manifest(scene_sha256: str, model_sha256: str, params: dict, run_file_sha256: str | None = None,
             remote_asset: str | None = None) -> dict[str, str]:
    """What must not change for a run to resume: the scene, the model, the file that runs it (its
    ONNX export, when one runs), the detection parameters, and for a scene read from a server the
    asset's version there (``remote_asset``: its ETag, else Last-Modified and size)."""
    return {"scene checksum": scene_sha256, "model checksum": model_sha256,
            "run file checksum": run_file_sha256 or model_sha256,
            "detection parameters": json.dumps(params, sort_keys=True),
            **({REMOTE_ASSET: remote_asset} if remote_asset else {})}
