"""What a count imports before its detection starts: not the analysis stack (pandas, geopandas,
SciPy, PyArrow, pyogrio), which pipeline.preload imports beside the model instead; and opening a
raster touches no pyogrio (its GDAL config is the vector reads' business). A whole count without
trailer types corrected for confusion imports no SciPy at all."""

import subprocess
import sys

PRELOADED = ("pandas", "geopandas", "pyarrow", "pyogrio")
HEAVY = (*PRELOADED, "scipy")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_detection_stage_imports_no_analysis_library():
    code = ("import geotally.pipeline.run, geotally.pipeline.detection, geotally.pipeline.inputs, "
            "geotally.pipeline.model, geotally.pipeline.checks, geotally.detect.run")
    assert _loaded_after(code) == []


def test_opening_a_scene_imports_no_analysis_library(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path / "s.tif"
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8", crs="EPSG:32638",
                       transform=from_origin(500000, 4000000, 0.3, 0.3)) as dst:
        dst.write(np.zeros((3, 64, 64), np.uint8))
    code = ("from geotally.imagery.scene import open_scene\nfrom geotally.geo.transform import scene_footprint\n"
            f"sc = open_scene({str(path)!r})\nscene_footprint(sc, sc.crs)")
    assert _loaded_after(code) == []


def test_the_analysis_libraries_load_in_the_background():
    code = "from geotally.pipeline.preload import Preload\np = Preload()\np.wait()\nassert not p.failed"
    assert set(_loaded_after(code)) == set(PRELOADED)


def test_a_whole_count_imports_no_scipy(border_scene, tmp_path):
    # the border scene at 0.15 m with every output written: queues, zones, counts, report, layers
    code = (f"from geotally.api import count_scenes\nr = count_scenes([{str(border_scene['scene'])!r}], "
            f"out={str(tmp_path / 'out')!r}, zones={str(border_scene['sides'])!r})\n"
            "assert sum(c['count'] for c in r.summary.counts) > 0\n"
            "assert not r.summary.trailer_types['corrected_for_confusion']")
    assert "scipy" not in _loaded_after(code)
