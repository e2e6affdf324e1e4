"""The local model cache: where files live, and sha256 checks before every use."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from platformdirs import user_cache_dir

from geotally.errors import GeotallyError, first_line
from geotally.imagery.checksum import file_sha256
from geotally.models.spec import ModelSpec
from geotally.models.sources import LocalFile

CACHE_ENV = "GEOTALLY_CACHE_DIR"


def cache_dir() -> Path:
    """``$GEOTALLY_CACHE_DIR`` or the user cache directory (XDG on Linux)."""
    return Path(os.environ.get(CACHE_ENV) or user_cache_dir("geotally"))


def writable_dir(folder: Path, what: str) -> Path:
    """Create ``folder`` if needed and prove a file can be written in it, or say in one line how to fix it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise GeotallyError(f"{what} {folder} cannot be written ({exc.strerror or first_line(exc)}); "
                            f"set {CACHE_ENV} to a writable folder") from None
    return folder


def model_path(spec: ModelSpec) -> Path:
    return cache_dir() / "models" / spec.name / spec.filename


_DIGESTS: dict[tuple, str] = {}


def verified_digest(path: str | os.PathLike) -> str:
    """sha256 of a model file, hashed again whenever its size, modification time or inode changes
    and otherwise once per process: a loop of counts need not re-read 12 MB per call."""
    key = _key(path)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


def _key(path: str | os.PathLike) -> tuple:
    p = Path(path)
    st = p.stat()
    return str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino


def ensure_model(spec: ModelSpec, *, force: bool = False,
                 say: Callable[[str], None] = lambda msg: None) -> Path:
    """Path to a verified copy of the model, fetching it from the first source that works.

    A cached file is checked on every call (re-hashed when it changed, see ``verified_digest``);
    one that no longer matches is refused.
    """
    for source in spec.sources:  # a model shipped in the package (or trained here) is used in place
        if isinstance(source, LocalFile) and Path(source.path).is_file() and not force \
                and verified_digest(source.path) == spec.sha256:
            return Path(source.path)
    path = model_path(spec)
    if path.exists() and not force:
        digest = verified_digest(path)
        if digest != spec.sha256:
            raise GeotallyError(f"cached model {path} fails its sha256 check (got {digest[:12]}…, "
                                f"want {spec.sha256[:12]}…); run 'geotally models pull {spec.name} --force'")
        return path
    writable_dir(path.parent, "the model cache")
    failures = []
    for source in spec.sources:
        say(f"fetching model {spec.name} from {source.describe()}")
        fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=path.parent)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            source.fetch(tmp)
            digest = file_sha256(tmp)
            if digest != spec.sha256:
                raise OSError(f"sha256 mismatch (got {digest[:12]}…)")
            os.replace(tmp, path)
            _DIGESTS[_key(path)] = digest  # the same file (a rename keeps its inode and times)
            say(f"model {spec.name} verified and cached at {path}")
            return path
        except Exception as exc:  # every failure falls through to the next source
            failures.append(f"{source.describe()}: {first_line(exc)}")
            if len(failures) < len(spec.sources):
                say(f"source {len(failures)} of {len(spec.sources)} failed ({first_line(exc)}); "
                    f"trying source {len(failures) + 1}")
        finally:
            tmp.unlink(missing_ok=True)
    raise GeotallyError(f"could not fetch model {spec.name}: " + "; ".join(failures))


def checkpoint_of(spec: ModelSpec) -> Path | None:
    """The verified Ultralytics checkpoint that ships beside a registered ONNX model, if any."""
    if not spec.checkpoint:
        return None
    places = [model_path(spec).parent / spec.checkpoint]
    places += [Path(s.path).parent / spec.checkpoint for s in spec.sources if isinstance(s, LocalFile)]
    for p in places:
        if p.exists():
            if verified_digest(p) != spec.checkpoint_sha256:
                raise GeotallyError(f"checkpoint {p} fails its sha256 check; reinstall geotally or retrain")
            return p
    return None
