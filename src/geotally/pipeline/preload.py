"""The analysis and output libraries imported in a background thread while detection runs.

A count needs pandas, geopandas, PyArrow and pyogrio only after detection, and importing them
takes most of a second of one core, longer than the model itself on a few small scenes. Detection
needs none of them, and ONNX Runtime and GDAL release the GIL, so the imports run beside the model
instead of before it.

Only third-party libraries are imported here, never geotally's own modules, so the thread and the
main thread never wait on each other's half-imported modules; the main thread calls
:meth:`Preload.wait` before it imports the analysis stage.
"""

from __future__ import annotations

import importlib
import threading

# What the analysis, the counts and the writers import beyond the detection stage's own libraries.
# Not SciPy's optimiser (0.3 s of a core): only trailer types corrected for confusion use it, and
# analysis/types.py imports it when they do.
LIBRARIES = ("pandas", "geopandas", "pyarrow.parquet", "pyogrio")


class Preload:
    """Imports ``libraries`` in a daemon thread from construction on; ``wait()`` joins it."""

    def __init__(self, libraries: tuple[str, ...] = LIBRARIES) -> None:
        self.failed: list[str] = []
        self._thread = threading.Thread(target=self._run, args=(libraries,), name="geotally-preload", daemon=True)
        self._thread.start()

    def _run(self, libraries: tuple[str, ...]) -> None:
        for name in libraries:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - the main thread's own import will say what is wrong
                self.failed.append(name)

    def wait(self) -> None:
        """Return once every library is imported (or has failed, to fail again where it is used)."""
        self._thread.join()
