"""Errors that carry a message meant for the user (CLI exit code 2)."""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat


class GeotallyError(Exception):
    """A problem with the user's input or environment, stated in one line with what to fix."""


def first_line(exc: BaseException, default: str | None = None) -> str:
    """The first line of an exception's message, for one-line errors (the type name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else (default or type(exc).__name__)


# What the system, SQLite and GDAL say for the errors a user fixes on their side. SQLite and GDAL
# name no path (and GDAL's message can be a whole SQL script), so these are matched by their words.
_FULL_WORDS = ("disk is full", "no space left on device", "disk quota exceeded")
_READ_ONLY_WORDS = ("read-only file system", "readonly database")
_LOOP = re.compile(r"^Symlink loop from '(.*)'$")  # pathlib's resolve() before Python 3.13
_LOW_SPACE = 1 << 20  # bytes: under this, an unexplained write error on a disk is taken for a full disk


def _kind(exc: BaseException, folder: str | os.PathLike | None) -> str | None:
    code = exc.errno if isinstance(exc, OSError) else None
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if code in (errno.ENOSPC, errno.EDQUOT) or name == "SQLITE_FULL" or any(w in text for w in _FULL_WORDS):
        return "full"
    if code == errno.EROFS or name.startswith("SQLITE_READONLY") or any(w in text for w in _READ_ONLY_WORDS):
        return "read-only"
    if code in (errno.EACCES, errno.EPERM) or "permission denied" in text:
        return "permission"
    if code == errno.ELOOP or (isinstance(exc, RuntimeError) and _LOOP.match(str(exc))):
        return "loop"
    if code in (errno.EISDIR, errno.ENOTDIR, errno.ENAMETOOLONG):
        return {errno.EISDIR: "folder", errno.ENOTDIR: "not-folder", errno.ENAMETOOLONG: "long"}[code]
    if name.startswith("SQLITE_IOERR") and folder is not None:  # SQLite's word for a write the disk refused
        try:
            return "full" if shutil.disk_usage(folder).free < _LOW_SPACE else None
        except OSError:
            return None
    return None


def os_error(exc: BaseException, folder: str | os.PathLike | None = None,
             tiles_kept: bool = False) -> GeotallyError | None:
    """The one-line error for a failure of the system that the user can fix (a full disk, a read-only or
    forbidden folder, a symbolic-link loop, a folder given for a file), naming the path or folder;
    None for any other exception. ``folder`` is where the failed write went, for errors that name no
    path (SQLite's and GDAL's); ``tiles_kept`` says a count's finished tiles are kept."""
    if isinstance(exc, GeotallyError):
        return None
    kind = _kind(exc, folder)
    if kind is None:
        return None
    path = getattr(exc, "filename", None)
    loop = _LOOP.match(str(exc)) if isinstance(exc, RuntimeError) else None
    path = loop.group(1) if loop else path
    where = str(folder) if folder is not None else (os.path.dirname(str(path)) or ".") if path else None
    kept = "; finished tiles are kept" if tiles_kept else ""
    if kind == "full":
        return GeotallyError(f"no space left on the device of {where or 'the output folder'}; free space and run "
                             f"again{kept}")
    if kind == "read-only":
        return GeotallyError(f"cannot write in {where or 'the output folder'} (read-only file system); give a folder "
                             f"you can write to{kept}")
    if kind == "permission":
        return GeotallyError(f"{path or where or 'a file'}: permission denied; give a file or folder you can read "
                             f"and write{kept}")
    target = path or "a path"
    return GeotallyError({"loop": f"{target} is a symbolic link loop; give the file or folder it should point to",
                          "folder": f"{target} is a folder; give a file",
                          "not-folder": f"{target}: a part of the path is a file, not a folder",
                          "long": f"{target}: the name is too long for the file system"}[kind])


def check_file(path: str | os.PathLike, what: str) -> None:
    """Refuse, in one line, a path given for an input file that is not a readable file: missing, a
    symbolic-link loop, a folder, or not readable. ``what`` names it ("zones file", "scene")."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise GeotallyError(f"{what} not found: {path}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise GeotallyError(f"{what} {path} is a symbolic link loop; give the file it should point to") from None
        raise GeotallyError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise GeotallyError(f"{what} {path} is a folder; give a file")
    if not os.access(path, os.R_OK):
        raise GeotallyError(f"{what} {path} cannot be read (permission denied)")
