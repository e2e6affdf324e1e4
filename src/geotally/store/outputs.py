"""Atomic result folders: a run's files are written to a staging folder, listed in manifest.json,
and the folder as a whole takes the place of ``--out`` in one step."""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import json
import math
import os
import sys
import shutil
import stat
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from geotally.errors import GeotallyError, os_error

if TYPE_CHECKING:  # the folder checks run before detection and need neither
    import geopandas as gpd
    import pandas as pd


def check_out_dir(out: str | os.PathLike) -> Path:
    """The folder the results go to, refused in one line if it cannot hold them; nothing is created
    yet. A symbolic link is followed: the folder it points to is returned (the results replace that
    folder), and the link stays as the user made it."""
    path = given = Path(out)
    if path.is_symlink():
        path = Path(os.path.realpath(given))
        if not path.exists():
            raise GeotallyError(f"--out {given} is a symbolic link loop; give a folder" if _is_loop(given) else
                                f"--out {given} is a symbolic link to {path}, which does not exist; create that "
                                "folder, or give another --out")
    if path.exists() and not path.is_dir():
        raise GeotallyError(f"--out {path} is an existing file; give a directory path")
    try:
        here = Path.cwd()
    except OSError:  # the working folder was removed: nothing to protect
        here = None
    if here is not None and path.resolve() in (here, *here.parents):
        raise GeotallyError(f"--out {path} is the folder you are in{'' if path.resolve() == here else ' or holds it'}: "
                            "results replace their folder as a whole, so give them one of their own, like --out "
                            "results (or run from the folder above)")
    parent = path.resolve().parent
    if not parent.exists():
        raise GeotallyError(f"--out {path}: parent directory {parent} does not exist")
    for folder in (parent, path) if path.exists() else (parent,):
        _probe(folder, f"--out {path}")  # results are staged beside --out, the checkpoint goes inside it
    if path.is_dir():
        _check_not_foreign(path)
    return path


def _is_results(folder: Path) -> bool:
    """Whether ``folder`` holds a geotally run's results: its manifest, or (results written before
    there were manifests) a summary.json of geotally's."""
    def keys(name: str) -> set:
        try:
            data = json.loads((folder / name).read_text())
        except (OSError, ValueError, UnicodeDecodeError):
            return set()
        return set(data) if isinstance(data, dict) else set()

    # geotally's manifest lists its files with the rule; another tool's manifest.json is not a run's
    return {"files", "rule"} <= keys(MANIFEST) or "geotally_version" in keys("summary.json")


def _check_not_foreign(folder: Path) -> None:
    """Refuse a folder that holds files under the names every run writes (OWN_NAMES) but is no run's
    results: the new results would replace a user's own report.html or counts.csv without a word.
    Other files are carried over (the demo's scene and roads.geojson lie in its results folder)."""
    if _is_results(folder):
        return
    mine = sorted({p.name for pattern in OWN_NAMES for p in folder.glob(pattern) if p.is_file()})
    if mine:
        shown = ", ".join(mine[:3]) + (f" and {len(mine) - 3} more" if len(mine) > 3 else "")
        raise GeotallyError(f"--out {folder} holds {shown} but no results of a geotally run, and a count would "
                            "replace them; give an empty or new folder, or move those files")


def _is_loop(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _probe(folder: Path, what: str) -> None:
    try:
        fd, probe = tempfile.mkstemp(prefix=".geotally-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        # /proc and the like exist but make no files: ENOENT there would read "No such file or directory"
        why = ("files cannot be made there" if exc.errno == errno.ENOENT and folder.is_dir()
               else exc.strerror or exc)
        raise GeotallyError(f"{what}: cannot write in {folder} ({why}); give a folder you can write to") from None


def check_out_file(path: str | os.PathLike, option: str, force: bool = False, example: str = "out.json") -> Path:
    """An output file's path must name a file in a folder that exists and can be written; an existing
    file is replaced only with ``force``. ``example``: the file name a folder given instead is told to hold."""
    path = Path(path)
    if path.exists() and not path.is_dir() and not force:
        raise GeotallyError(f"{option} {path} exists; give --force to replace it, or another {option}")
    if path.is_dir():
        raise GeotallyError(f"{option} {path} is a folder; give a file name like {path / example}")
    parent = path.resolve().parent
    if not parent.is_dir():
        raise GeotallyError(f"{option} {path}: folder {parent} does not exist")
    _probe(parent, f"{option} {path}")
    return path


MANIFEST = "manifest.json"
CHECKPOINT_PREFIX = ".geotally-checkpoint"
# A checkpoint a --fresh run set aside (store.checkpoint.SetAside): never carried into the new results,
# so the folder's swap is what retires it.
SET_ASIDE = ".before-fresh"
# What a run writes; files of these names left by an earlier run are never carried into a new one.
RUN_FILES = ("detections.*", "queues.*", "counts*.csv", "summary.json", "report.html", MANIFEST)

# The names every count writes, as exactly as they are written: a user's counts_manual.csv or queues.txt
# is carried over, never replaced, so it is no reason to refuse the folder.
OWN_NAMES = ("detections.gpkg", "detections.geojson", "detections.parquet", "queues.gpkg", "queues.geojson",
             "counts.csv", "counts_by_*.csv", "summary.json", "report.html", MANIFEST)


# Every name a count may write into its folder (RUN_FILES and the files of options and QGIS).
WRITTEN = (*RUN_FILES, "coverage.csv", "stationary.csv", "demo_comparison.csv", "preview.tif", "project.qgs",
           "zones.gpkg", "roads.*", "route.*")


def check_inputs_kept(out: str | os.PathLike, inputs: dict[str, list[str]]) -> None:
    """Refuse an input file that lies in the results folder under a name the run writes there: the new
    results would replace it (``inputs``: each option's name in errors, and its files)."""
    folder = Path(out).resolve()
    for option, paths in inputs.items():
        for p in paths:
            path = Path(p).resolve()
            if path.parent == folder and any(path.match(pattern) for pattern in WRITTEN):
                raise GeotallyError(f"{option} {p} lies in the results folder {out} under a name the run writes "
                                    f"there ({path.name}), so the new results would replace it; move or rename it")


def _stage_prefix(name: str) -> str:
    return f".{name}.staging-"


def alive(pid: int) -> bool:
    """Whether a process ``pid`` runs (one of another user's counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(final: Path) -> None:
    """Remove staging folders that dead runs left beside ``final``.

    A run killed after its swap leaves the previous results in its staging folder; any
    subfolder found there is a user's folder from inside ``--out`` and is moved back first.
    """
    parent = final.resolve().parent
    for stage in parent.glob(_stage_prefix(final.name) + "*"):
        try:
            pid = int(stage.name[len(_stage_prefix(final.name)):].split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid() or alive(pid):
            continue
        if final.is_dir():
            for sub in stage.iterdir():
                if sub.is_dir() and not (final / sub.name).exists():
                    os.rename(sub, final / sub.name)
        elif not final.exists() and (stage / MANIFEST).exists():
            os.rename(stage, final)  # killed between the two renames of the fallback swap: put it back
            continue
        shutil.rmtree(stage, ignore_errors=True)


def _run_files(folder: Path) -> set[str]:
    """Names the run in ``folder`` wrote: its manifest's list, or the usual names for results written
    before manifests; none for a folder that held no run (every file there is the user's, carried
    over: the names a run writes were refused before it began)."""
    if not _is_results(folder):
        return set()
    try:
        return set(json.loads((folder / MANIFEST).read_text())["files"]) | {MANIFEST}
    except (OSError, ValueError, KeyError, TypeError):
        return {p.name for pattern in RUN_FILES for p in folder.glob(pattern)}


def _carry(final: Path, stage: Path) -> list[Path]:
    """Hard-link into ``stage`` what must outlive the swap: checkpoints and files that are not run outputs.
    Returns the subfolders, which are moved over after the swap."""
    if not final.is_dir():
        return []
    old = _run_files(final)
    folders = []
    for item in final.iterdir():
        if item.name in old or (stage / item.name).exists() or SET_ASIDE in item.name:
            continue
        if item.is_dir():
            folders.append(item)
        else:
            os.link(item, stage / item.name)
    return folders


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _manifest(stage: Path) -> dict:
    from geotally.imagery.checksum import file_sha256

    files = {p.name: {"sha256": file_sha256(p), "bytes": p.stat().st_size}
             for p in sorted(stage.iterdir()) if p.is_file() and not p.name.startswith(CHECKPOINT_PREFIX)}
    return {"written_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "files": files,
            "rule": "every file listed here comes from one run; a results folder without this file is incomplete"}


_HELD: set[Path] = set()  # the run locks this process holds


@contextmanager
def run_lock(out: str | os.PathLike) -> Iterator[None]:
    """One run at a time writes a results folder: another count or recount into the same ``out`` is
    refused at once, naming the process (two runs replaced each other's results and both said
    "results written"). An flock on ``.NAME.geotally-lock`` beside the folder, which the system
    releases however the run ends; the holder removes the file when it is done, and a run that
    locked a file just removed takes the new one."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock, as before
        yield
        return
    final = Path(os.path.realpath(out))
    path = final.parent / f".{final.name}.geotally-lock"
    if path in _HELD:  # this process holds it already (the demo writes its scene, then counts it)
        yield
        return
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a folder that cannot be written: check_out_dir says so in one line
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise GeotallyError(f"another geotally run{f' (process {pid})' if pid else ''} is writing to {out}; wait "
                                "for it to end, or give another --out") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # its holder removed it as we opened it
    _HELD.add(path)
    try:
        try:  # the pid, for the other run's message; a full disk keeps it out, and says so where it matters
            os.ftruncate(fd, 0)  # a run killed with -9 left its own
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass
        yield
    finally:
        _HELD.discard(path)
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


@contextmanager
def staged_output(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``out`` as a whole, on error nothing changes.

    The new folder is complete (its files, then manifest.json listing them with their sha256)
    before it takes the name ``out`` in one rename-exchange, so a reader or a killed run sees
    either the old results or the new ones, never a mixture. Checkpoints and files that are
    not run outputs are carried over.
    """
    final = check_out_dir(out)
    clean_stale(final)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f"{_stage_prefix(final.name)}{os.getpid()}-", dir=final.resolve().parent))
        os.chmod(stage, _folder_mode(final))  # mkdtemp's is 0700; the results keep the folder's own
    except OSError as exc:
        raise (_write_error(exc, final) or exc) from None
    try:
        yield stage
        write_json(stage / MANIFEST, _manifest(stage))
        folders = _carry(final, stage)
        if not final.exists():
            os.rename(stage, final)
        elif _exchange(stage, final):
            pass  # the old results are now in ``stage``, removed below
        else:  # two renames; clean_stale puts the old folder back if a run dies between them
            os.rename(final, stage.with_name(stage.name + "-old"))
            os.rename(stage, final)
            os.rename(stage.with_name(stage.name + "-old"), stage)
        for sub in folders:
            os.rename(stage / sub.name, final / sub.name)
    except Exception as exc:
        user = _write_error(exc, final)
        if user is None:
            raise
        raise user from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _folder_mode(final: Path) -> int:
    """The permissions the results folder should have: its own when it exists, else what the
    process's umask gives a new folder (as ``mkdir`` would)."""
    if final.is_dir():
        return stat.S_IMODE(final.stat().st_mode)
    try:  # the umask without setting it (setting it, even briefly, races the writer threads)
        line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("Umask:"))
        mask = int(line.split()[1], 8)
    except (OSError, StopIteration, ValueError):
        mask = 0o022
    return 0o777 & ~mask


def _write_error(exc: Exception, final: Path) -> GeotallyError | None:
    """A write into ``final`` that failed for a reason the user fixes (a full disk, a read-only folder)
    as one line naming it; None for any other error. A count's checkpoint in ``final`` is untouched
    by a failed write, and then the message says its finished tiles are kept."""
    kept = final.is_dir() and any(final.glob(f"{CHECKPOINT_PREFIX}*.sqlite"))
    return os_error(exc, final, tiles_kept=kept)


def check_manifest(folder: str | os.PathLike, only: tuple[str, ...] | None = None, missing_ok: bool = False,
                   fix: str = "count again") -> None:
    """Refuse a results folder whose files are not the ones its run wrote (incomplete, mixed or edited);
    ``only`` checks just those files (what a command reads), the folder still needing its manifest;
    ``missing_ok`` passes a file that is gone (one a command writes anew); ``fix`` says what to do."""
    from geotally.imagery.checksum import file_sha256

    folder = Path(folder)
    try:
        listed = json.loads((folder / MANIFEST).read_text())["files"]
    except FileNotFoundError:
        raise GeotallyError(f"{folder} has no {MANIFEST}: the run that wrote it did not finish; count again") from None
    except (ValueError, KeyError, TypeError):
        raise GeotallyError(f"{folder}/{MANIFEST} is damaged; count again") from None
    for name, meta in listed.items():
        if only is not None and name not in only:
            continue
        p = folder / name
        if missing_ok and not p.exists():
            continue
        if not p.is_file() or file_sha256(p) != meta.get("sha256"):
            raise GeotallyError(f"{folder}/{name} is not the file its run wrote (missing or changed since); {fix}")


def json_ready(value):
    """``value`` with every NaN or infinite float as None (null), so the JSON is valid for every reader."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:  # numpy scalars
        return json_ready(value.item())
    return value


def write_text(path: Path, text: str) -> None:
    """A text file, written in full before it is visible under its name."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_json(path: Path, data: dict) -> None:
    """Strict JSON (no bare NaN), written in full before it is visible under its name."""
    write_text(path, json.dumps(json_ready(data), indent=2, default=str, allow_nan=False) + "\n")


# A spreadsheet takes a cell that starts with one of these as a formula (OWASP, CSV injection).
_FORMULA = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_FIRST = "=+-@\t\r"


def _any_risky(values: pd.Series) -> bool:
    """Whether any text cell starts like a formula or holds a carriage return: most columns have
    none, and the pandas string operations below cost ~6 ms a column."""
    return any(isinstance(v, str) and v and (v[0] in _FIRST or "\r" in v) for v in values.to_numpy())


def _safe_text(values: pd.Series) -> pd.Series:
    """Text cells a spreadsheet would run as a formula, quoted with a leading ' (OWASP's advice);
    numbers, and text that is just a number (``-3``), stay as they are. A carriage return in text
    becomes a line feed (see below)."""
    if not _any_risky(values):
        return values
    text = values.astype(object).where(values.map(lambda v: isinstance(v, str)).astype(bool))
    risky = text.str.contains(_FORMULA, na=False) & ~text.str.match(_NUMBER, na=False)
    values = values.where(~risky, "'" + text)
    # pandas quotes a field with a line feed but not one with a bare carriage return, which readers
    # take for a line end: a CR becomes a LF, so the field is quoted and the file keeps its rows.
    cr = text.str.contains("\r", na=False, regex=False)
    return values.where(~cr, values[cr].str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n", regex=False))


def safe_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every text cell and column name that carries a formula neutralised."""
    import pandas as pd

    table = table.copy()
    for c in table.columns:
        if table[c].dtype == object or pd.api.types.is_string_dtype(table[c]):
            table[c] = _safe_text(table[c])
    table.columns = _safe_text(pd.Series(list(table.columns), dtype=object)).tolist()
    return table


def write_csv(path: Path, table: pd.DataFrame) -> None:
    """A table as CSV, safe to open in a spreadsheet (see ``safe_table``), written in full before it
    is visible under its name. Every CSV geotally writes goes through here."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    safe_table(table).to_csv(tmp, index=False)
    os.replace(tmp, path)


def write_vector(gdf: gpd.GeoDataFrame, path: Path, layer: str | None = None, geometry_type: str | None = None) -> None:
    """GeoPackage or GeoJSON by suffix; an empty frame still gets a file with the schema, and with
    ``geometry_type`` the layer's type (QGIS opens a layer of unknown type as a table, unstyled)."""
    driver = {".gpkg": "GPKG", ".kml": "KML"}.get(path.suffix, "GeoJSON")
    kwargs = {"layer": layer} if layer and driver in ("GPKG", "GeoJSON") else {}  # GeoJSON: its "name"
    if geometry_type and gdf.empty:
        kwargs["geometry_type"] = geometry_type
    with warnings.catch_warnings():
        # Scenes without georeference are written in local metres, knowingly without a CRS.
        warnings.filterwarnings("ignore", message=".*crs.*was not provided")
        gdf.to_file(path, driver=driver, engine="pyogrio", **kwargs)
