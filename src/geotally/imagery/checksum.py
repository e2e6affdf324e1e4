"""File checksums: every count traces to the sha256 of its scenes and model files."""

from __future__ import annotations

import hashlib
import os


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """sha256 of a file, streamed so that huge scenes do not load into memory."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def scene_sha256(path: str | os.PathLike, sidecars: list[str] | tuple[str, ...] = ()) -> str:
    """A scene's checksum: its file's sha256, or, where GDAL also reads sidecars beside it (a world
    file, .aux.xml, an external mask), the sha256 of the file's and each sidecar's (name and sha256),
    so that an edited world file is a changed scene."""
    own = file_sha256(path)
    if not sidecars:
        return own
    h = hashlib.sha256(own.encode())
    for side in sorted(sidecars):
        h.update(f"\n{os.path.basename(side)} {file_sha256(side)}".encode())
    return h.hexdigest()
