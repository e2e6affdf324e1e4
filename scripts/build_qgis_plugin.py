"""Build the QGIS plugin zip that QGIS's "Install from ZIP" accepts: qgis_plugin/geotally/ as the folder
geotally/ at the top of the archive, without caches; entries in a fixed order with a fixed time, so the
same sources give the same zip.

    python scripts/build_qgis_plugin.py [--out dist/]
"""

from __future__ import annotations

import argparse
import configparser
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "qgis_plugin" / "geotally"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def build(out_dir: Path) -> Path:
    """Write geotally-qgis-<version>.zip into ``out_dir``; returns its path."""
    meta = configparser.ConfigParser()
    meta.read(PLUGIN / "metadata.txt")
    version = meta["general"]["version"]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"geotally-qgis-{version}.zip"
    files = sorted(p for p in PLUGIN.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                   and p.suffix not in (".pyc", ".pyo"))
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in files:
            info = zipfile.ZipInfo(f"geotally/{p.relative_to(PLUGIN).as_posix()}", FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, p.read_bytes())
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the zip (default: dist/)")
    print(build(parser.parse_args().out))


if __name__ == "__main__":
    main()
